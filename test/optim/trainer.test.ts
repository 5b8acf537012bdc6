import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ForwardOptions } from '../../src/model/types.ts';
import { Trainer, combineStatistics, type PassSeeds, type TrainableModel, type TrainerSettings } from '../../src/optim/trainer.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

/** A stand-in for the real model: a 1×1 "backbone" conv, a running-mean buffer, and a linear head. */
function tinyModel(seed = 1): TrainableModel & { dispose(): void } {
  const v = (name: string, t: tf.Tensor, trainable = true) => tf.variable(t, trainable, `${name}-${seed}-${Math.random()}`);
  const params = new Map([
    ['backbone.weight', { variable: v('bw', tf.randomNormal([3, 4], 0, 0.5, 'float32', seed)), trainable: true }],
    ['backbone.running_mean', { variable: v('rm', tf.zeros([4]), false), trainable: false }],
    ['head.weight', { variable: v('hw', tf.randomNormal([4, 2], 0, 0.5, 'float32', seed + 1)), trainable: true }],
    ['head.bias', { variable: v('hb', tf.zeros([2])), trainable: true }],
  ]);
  const p = (k: string) => params.get(k)!.variable;
  return {
    params,
    headKeys: ['head.weight', 'head.bias'],
    forward(x: tf.Tensor4D, opts: ForwardOptions = {}) {
      return tf.tidy(() => {
        const feat = tf.relu(tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, p('backbone.weight')));
        if (opts.training) {
          p('backbone.running_mean').assign(tf.add(tf.mul(p('backbone.running_mean'), 0.9), tf.mul(tf.mean(feat, 0), 0.1)));
          // dropout-like use of the seed source, as the real model does
          opts.nextSeed?.();
        }
        return tf.add(tf.matMul(feat, p('head.weight')), p('head.bias')) as tf.Tensor2D;
      });
    },
    dispose() { for (const { variable } of params.values()) variable.dispose(); },
  };
}

const SETTINGS: TrainerSettings = {
  adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, labelSmoothing: 0.1, gradClip: 1, emaDecay: null,
};

/** Class 0: red images, class 1: blue images. */
function batch(i: number): { x: tf.Tensor4D; y: Int32Array } {
  const y = new Int32Array([0, 1, 0, 1].map((c, k) => (c + i + k) % 2));
  const px: number[] = [];
  for (const c of y) for (let k = 0; k < 4; k++) px.push(c ? 0.1 : 0.9, 0.3, c ? 0.9 : 0.1);
  return { x: tf.tensor4d(px, [4, 2, 2, 3]), y };
}

const seeds = (): PassSeeds => () => { let s = 0; return () => s++; };

describe('trainer step', () => {
  it('learns a separable toy problem, with a flat tensor count, and releases everything on dispose', async () => {
    const model = tinyModel();
    const withModel = tf.memory().numTensors;
    const trainer = new Trainer(model, { ...SETTINGS, emaDecay: 0.99 });
    const losses: number[] = [];
    let counts: number[] = [];
    for (let i = 0; i < 60; i++) {
      const { x, y } = batch(i);
      const r = await trainer.step(x, y, 0.05, seeds());
      x.dispose();
      losses.push(r.loss);
      counts.push(tf.memory().numTensors);
      if (i === 59) expect(r.correct).toBe(4);
    }
    expect(losses[59]).toBeLessThan(losses[0] * 0.6);
    counts = counts.slice(1);
    expect(new Set(counts).size).toBe(1);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(withModel);
    model.dispose();
  });

  it('clips the global gradient norm', async () => {
    const model = tinyModel();
    const trainer = new Trainer(model, { ...SETTINGS, gradClip: 1e-9, adamw: { ...SETTINGS.adamw, weightDecay: 0 } });
    const before = model.params.get('head.bias')!.variable.dataSync().slice();
    const { x, y } = batch(0);
    const r = await trainer.step(x, y, 0.1, seeds());
    expect(r.gradNorm).toBeGreaterThan(1e-3); // the norm reported is before clipping
    // Adam normalises the step size, so clipping shows in the second moment: v ≈ (1-β2)·(clipped g)², tiny.
    const st = await trainer.exportState();
    expect(Math.max(...Array.from(st.tensors.get('opt.v.head.bias')!.data))).toBeLessThan(1e-18);
    expect(model.params.get('head.bias')!.variable.dataSync()).not.toEqual(before);
    x.dispose(); trainer.dispose(); model.dispose();
  });

  it('trains only the classifier while the backbone is frozen', async () => {
    const model = tinyModel();
    const trainer = new Trainer(model, SETTINGS);
    const bw = model.params.get('backbone.weight')!.variable.dataSync().slice();
    const hw = model.params.get('head.weight')!.variable.dataSync().slice();
    const { x, y } = batch(0);
    await trainer.step(x, y, 0.05, seeds(), true);
    expect(model.params.get('backbone.weight')!.variable.dataSync()).toEqual(bw);
    expect(model.params.get('head.weight')!.variable.dataSync()).not.toEqual(hw);
    x.dispose(); trainer.dispose(); model.dispose();
  });

  it('continues exactly after exporting and importing optimizer and EMA state', async () => {
    const run = async (interrupt: boolean) => {
      let model = tinyModel(7);
      let trainer = new Trainer(model, { ...SETTINGS, emaDecay: 0.9 });
      const losses: number[] = [];
      for (let i = 0; i < 6; i++) {
        if (interrupt && i === 3) {
          const st = await trainer.exportState();
          const weights = new Map([...model.params].map(([k, p]) => [k, p.variable.dataSync().slice()]));
          trainer.dispose(); model.dispose();
          model = tinyModel(99); // different init: everything must come from the saved state
          for (const [k, p] of model.params) p.variable.assign(tf.tensor(weights.get(k)!, p.variable.shape));
          trainer = new Trainer(model, { ...SETTINGS, emaDecay: 0.9 });
          trainer.importState(st.tensors, st.json, 'test');
        }
        const { x, y } = batch(i);
        losses.push((await trainer.step(x, y, 0.05, seeds())).loss);
        x.dispose();
      }
      const ema = await trainer.exportState();
      trainer.dispose(); model.dispose();
      return { losses, ema: Array.from(ema.tensors.get('ema.head.weight')!.data) };
    };
    const a = await run(false), b = await run(true);
    expect(b.losses).toEqual(a.losses);
    expect(b.ema).toEqual(a.ema);
  });

  it('EMA follows the weights (with warm-up) and swaps them in only inside withAveraged', async () => {
    const model = tinyModel();
    const trainer = new Trainer(model, { ...SETTINGS, emaDecay: 0.999 });
    expect(trainer.ema!.currentDecay()).toBeCloseTo(0.1, 10); // (1+0)/(10+0)
    const w0 = model.params.get('head.weight')!.variable.dataSync().slice();
    for (let i = 0; i < 5; i++) { const { x, y } = batch(i); await trainer.step(x, y, 0.05, seeds()); x.dispose(); }
    const w = model.params.get('head.weight')!.variable.dataSync().slice();
    const avg = await trainer.ema!.withAveraged(async () => model.params.get('head.weight')!.variable.dataSync().slice());
    expect(Array.from(model.params.get('head.weight')!.variable.dataSync())).toEqual(Array.from(w));
    for (let k = 0; k < w.length; k++) {
      const lo = Math.min(w0[k], w[k]) - 1e-3, hi = Math.max(w0[k], w[k]) + 1e-3;
      expect(avg[k]).toBeGreaterThanOrEqual(lo); expect(avg[k]).toBeLessThanOrEqual(hi);
    }
    expect(Array.from(avg)).not.toEqual(Array.from(w));
    trainer.dispose(); model.dispose();
  });

  it('accumulates gradients over slices of the batch to the same step as one pass, with a flat tensor count', async () => {
    const run = async (perPass: number) => {
      const model = tinyModel(3);
      const trainer = new Trainer(model, SETTINGS);
      const results = [];
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { x, y } = batch(i);
        results.push(await trainer.step(x, y, 0.05, seeds(), false, perPass));
        x.dispose();
        counts.push(tf.memory().numTensors);
      }
      const w = Array.from(model.params.get('backbone.weight')!.variable.dataSync());
      trainer.dispose(); model.dispose();
      return { results, w, counts };
    };
    const one = await run(Infinity);
    for (const per of [1, 3]) {
      const sliced = await run(per);
      expect(new Set(sliced.counts).size).toBe(1);
      sliced.results.forEach((r, i) => {
        expect(r.loss).toBeCloseTo(one.results[i].loss, 5);
        expect(r.gradNorm).toBeCloseTo(one.results[i].gradNorm, 5);
        expect(r.correct).toBe(one.results[i].correct);
      });
      sliced.w.forEach((v, k) => expect(v).toBeCloseTo(one.w[k], 5));
    }
  });
});

describe('a step split across replicas (shareGradients, combineStatistics, applyShared)', () => {
  it('is the one-trainer step in the same passes: weights, running statistics, loss; a flat tensor count', async () => {
    const [a, b, one, c] = [tinyModel(5), tinyModel(5), tinyModel(5), tinyModel(5)];
    const replicas = [new Trainer(a, { ...SETTINGS, emaDecay: 0.9 }), new Trainer(b, { ...SETTINGS, emaDecay: 0.9 })];
    // A third replica gets no share (a batch of fewer passes than replicas, as 4 images on 3 workers): it applies the same step.
    const idle = new Trainer(c, { ...SETTINGS, emaDecay: 0.9 });
    const reference = new Trainer(one, { ...SETTINGS, emaDecay: 0.9 });
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { x, y } = batch(i);
      const halves = [0, 2].map((start) => tf.slice(x, [start, 0, 0, 0], [2, -1, -1, -1]));
      const shares = await Promise.all(replicas.map((t, k) => t.shareGradients(halves[k], y.slice(2 * k, 2 * k + 2),
        { batchSize: 4, firstPass: k, perPass: 2, frozenBackbone: false }, seeds())));
      const grads = new Map(shares[0].grads);
      for (const [key, g] of shares[1].grads) grads.set(key, { shape: g.shape, data: g.data.map((v, j) => v + grads.get(key)!.data[j]) });
      const statistics = combineStatistics(shares.map((s) => s.statistics));
      expect(statistics.passes).toBe(2);
      const norms = await Promise.all([...replicas, idle].map((t) => t.applyShared(grads, statistics, 0.05)));
      const r = await reference.step(x, y, 0.05, seeds(), false, 2);
      expect(shares[0].loss + shares[1].loss).toBeCloseTo(r.loss, 6);
      expect(shares[0].correct + shares[1].correct).toBe(r.correct);
      expect(norms[0]).toBeCloseTo(r.gradNorm, 6);
      expect(norms[1]).toBe(norms[0]);
      expect(norms[2]).toBe(norms[0]);
      tf.dispose([x, ...halves]);
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    for (const key of one.params.keys()) {
      const want = Array.from(one.params.get(key)!.variable.dataSync());
      for (const m of [a, b, c]) Array.from(m.params.get(key)!.variable.dataSync()).forEach((v, j) => expect(v, key).toBeCloseTo(want[j], 6));
    }
    for (const t of [...replicas, idle, reference]) t.dispose();
    for (const m of [a, b, one, c]) m.dispose();
  });
});
