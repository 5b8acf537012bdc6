import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/model/index.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

describe('parameter counts equal the reference at 1000 classes', () => {
  it.each([
    ['mobilevit_xxs', 1_272_024],
    ['mobilevit_xs', 2_317_848],
    ['mobilevit_s', 5_578_632],
    ['mobilenet_v2', 3_504_872],
  ] as const)('%s has %i parameters', (variant, expected) => {
    const m = createModel(variant, { numClasses: 1000 });
    expect(m.paramCount()).toBe(expected);
    expect(m.blocks().reduce((a, b) => a + b.params, 0)).toBe(expected);
    m.dispose();
  });
});
