// Inference folds each BatchNorm into its convolution. The fold must equal the unfolded conv → BN →
// activation, and follow the weights: after a training step's updates (running statistics included)
// and after a load, never a stale copy.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { createModel } from '../../src/model/index.ts';
import { loadWeights, stateDict } from '../../src/model/weights.ts';
import { maxAbsDiff } from '../helpers/fixtures.ts';

beforeAll(async () => { await initBackend('wasm'); });

/** The stem by hand, unfolded: pad, conv, BatchNorm with running statistics, SiLU. */
function stemByHand(model: ReturnType<typeof createModel>, x: tf.Tensor4D): tf.Tensor {
  const p = (k: string) => model.params.get(k)!.variable;
  const y = tf.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), p('stem.conv.weight') as tf.Tensor4D, 2, 'valid');
  const bn = tf.batchNorm(y, p('stem.bn.running_mean'), p('stem.bn.running_var'), p('stem.bn.bias'), p('stem.bn.weight'), 1e-5);
  return tf.mul(bn, tf.sigmoid(bn));
}

function stemByModel(model: ReturnType<typeof createModel>, x: tf.Tensor4D): tf.Tensor {
  let stem: tf.Tensor | null = null;
  const out = model.forward(x, { training: false, probe: { blockEnd: (info, y) => { if (info.name === 'stem') stem = tf.keep(tf.clone(y)); } } });
  out.dispose();
  return stem!;
}

describe('BatchNorm folded into the convolution at inference', () => {
  it('equals the unfolded layers, and follows training steps and loads', () => {
    const model = createModel('mobilevit_xxs', { numClasses: 3, seed: 4 });
    const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    const close = () => maxAbsDiff(stemByModel(model, x).dataSync(), stemByHand(model, x).dataSync());
    // Make the statistics non-trivial first: a few training-mode passes move the running ones.
    for (let i = 0; i < 3; i++) model.forward(x, { training: true, nextSeed: () => 1 + i }).dispose();
    expect(close()).toBeLessThan(1e-5);
    const before = stemByModel(model, x).dataSync();

    // A training-style update of the BN's scale: the next inference sees it.
    const gamma = model.params.get('stem.bn.weight')!.variable;
    gamma.assign(tf.mul(gamma, 1.5));
    expect(close()).toBeLessThan(1e-5);
    expect(maxAbsDiff(stemByModel(model, x).dataSync(), before)).toBeGreaterThan(1e-3);

    // A load replaces everything: the fold follows.
    const other = createModel('mobilevit_xxs', { numClasses: 3, seed: 99 });
    for (let i = 0; i < 2; i++) other.forward(x, { training: true, nextSeed: () => 7 }).dispose();
    loadWeights(model, stateDict(other));
    expect(maxAbsDiff(stemByModel(model, x).dataSync(), stemByModel(other, x).dataSync())).toBeLessThan(1e-6);
    expect(close()).toBeLessThan(1e-5);
    model.dispose();
    other.dispose();
  });
});
