// Unfold/fold ordering, and the bilinear resize the non-divisible path takes, against PyTorch's formula.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fold, resizeBilinear, unfold } from '../../src/model/unfold.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';
import { torchBilinear } from '../helpers/gradients.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

describe('unfold / fold', () => {
  it('puts pixel (2·nh+ph, 2·nw+pw) at row ph·2+pw, token nh·cols+nw', () => {
    const [b, h, w, c] = [2, 6, 4, 3];
    const x = tf.tensor4d(Array.from({ length: b * h * w * c }, (_, i) => i), [b, h, w, c]);
    const { patches, grid } = unfold(x, [2, 2]);
    expect(grid).toMatchObject({ rows: 3, cols: 2, featureSize: [6, 4] });
    expect(patches.shape).toEqual([b * 4, 6, c]);
    const p = patches.arraySync();
    const xv = x.arraySync();
    for (let bi = 0; bi < b; bi++) for (let ph = 0; ph < 2; ph++) for (let pw = 0; pw < 2; pw++)
      for (let nh = 0; nh < 3; nh++) for (let nw = 0; nw < 2; nw++)
        expect(p[bi * 4 + ph * 2 + pw][nh * 2 + nw]).toEqual(xv[bi][2 * nh + ph][2 * nw + pw]);
    const back = fold(patches, grid);
    expect(back.arraySync()).toEqual(xv);
    tf.dispose([x, patches, back]);
  });

  it('resizes an odd map up to the next multiple of the patch and back, as PyTorch does', () => {
    const src = Array.from({ length: 7 }, () => Array.from({ length: 5 }, () => Math.random()));
    const x = tf.tensor4d(src.flat(), [1, 7, 5, 1]);
    const up = resizeBilinear(x, [8, 6]);
    expect(maxAbsDiff(up.dataSync(), torchBilinear(src, 8, 6).flat())).toBeLessThan(1e-6);
    const { patches, grid } = unfold(x, [2, 2]);
    expect(grid).toMatchObject({ rows: 4, cols: 3, featureSize: [7, 5] });
    const back = fold(patches, grid);
    expect(back.shape).toEqual([1, 7, 5, 1]);
    const upData = up.arraySync()[0].map((r) => r.map((v) => v[0]));
    expect(maxAbsDiff(back.dataSync(), torchBilinear(upData, 7, 5).flat())).toBeLessThan(1e-6);
    tf.dispose([x, up, patches, back]);
  });
});
