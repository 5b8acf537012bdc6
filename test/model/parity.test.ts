// Logits and per-stage outputs match timm's on the fixtures, on the cpu and wasm backends.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { createModel, type PartName } from '../../src/model/index.ts';
import { loadWeightsFile } from '../../src/model/weights-file.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { fixture, loadFixture, maxAbs, maxAbsDiff } from '../helpers/fixtures.ts';

const TOL = 1e-4;

describe.each(['cpu', 'wasm'])('parity with timm on %s', (backend) => {
  it.each([
    ['mobilevit_xxs_256_b2_c10', 10],
    ['mobilevit_xxs_256_b1_c1000', 1000],
  ])('%s logits and pre-logits within 1e-4', async (name, classes) => {
    await tf.setBackend(backend);
    const { weights, io } = loadFixture(name);
    const model = createModel('mobilevit_xxs', { numClasses: classes });
    loadWeightsFile(model, weights);
    const input = io.get('input_nhwc')!;
    const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    const logits = model.forward(x);
    const feats = model.features(x);
    expect(logits.shape).toEqual(io.get('logits')!.shape);
    expect(maxAbsDiff(logits.dataSync(), io.get('logits')!.data)).toBeLessThan(TOL);
    expect(maxAbsDiff(feats.dataSync(), io.get('pre_logits')!.data)).toBeLessThan(TOL);
    tf.dispose([x, logits, feats]);
    model.dispose();
  });

  it('per-stage outputs within 1e-4 × max(1, max|ref|)', async () => {
    await tf.setBackend(backend);
    const name = 'mobilevit_xxs_256_b2_c10';
    const { weights, io } = loadFixture(name);
    const stages = readSafetensors(fixture(`${name}.stages.safetensors`)).tensors;
    const model = createModel('mobilevit_xxs', { numClasses: 10 });
    loadWeightsFile(model, weights);
    const input = io.get('input_nhwc')!;
    // Sample 0 only, like the stage fixtures.
    const x = tf.tensor4d(input.data.subarray(0, 256 * 256 * 3), [1, 256, 256, 3]);
    const got = new Map<string, Float32Array>();
    const blockNames: Record<string, string> = { stem: 'stem', 'stages.0.0': 'stage0', 'stages.1.2': 'stage1', 'stages.2.1': 'stage2', 'stages.3.1': 'stage3', 'stages.4.1': 'stage4', final_conv: 'final_conv' };
    const partNames: Partial<Record<PartName, string>> = { local: 'local_1x1', unfold: 'patches_in', transformer: 'patches_out', fold: 'folded', projection: 'conv_proj', fusion: 'fusion' };
    const out = model.forward(x, {
      probe: {
        blockEnd: (b, t) => { if (blockNames[b.name]) got.set(blockNames[b.name], t.dataSync() as Float32Array); },
        partEnd: (b, part, t) => { if (b.name === 'stages.2.1' && partNames[part as PartName]) got.set(`stage2_mvit_${partNames[part as PartName]}`, t.dataSync() as Float32Array); },
      },
    });
    out.dispose();
    for (const [key, ref] of stages) {
      expect(got.has(key), key).toBe(true);
      expect(maxAbsDiff(got.get(key)!, ref.data), key).toBeLessThan(TOL * Math.max(1, maxAbs(ref.data)));
    }
    x.dispose();
    model.dispose();
  });
});
