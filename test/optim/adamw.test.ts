import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, decays } from '../../src/optim/adamw.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

const S = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };

/** torch.optim.AdamW's step, in float64, for one parameter. */
function torchAdamW(p: number[], grads: number[][], lrs: number[], decay: boolean) {
  const m = p.map(() => 0), v = p.map(() => 0);
  p = p.slice();
  grads.forEach((g, t) => {
    const lr = lrs[t];
    const bc1 = 1 - S.beta1 ** (t + 1), bc2 = 1 - S.beta2 ** (t + 1);
    for (let i = 0; i < p.length; i++) {
      if (decay) p[i] *= 1 - lr * S.weightDecay;
      m[i] = S.beta1 * m[i] + (1 - S.beta1) * g[i];
      v[i] = S.beta2 * v[i] + (1 - S.beta2) * g[i] * g[i];
      p[i] -= (lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + S.eps);
    }
  });
  return p;
}

describe('AdamW', () => {
  it('decays weights but not biases or 1-D (norm) parameters', () => {
    expect(decays('stem.conv.weight', [3, 3, 3, 16])).toBe(true);
    expect(decays('head.fc.weight', [320, 10])).toBe(true);
    expect(decays('head.fc.bias', [10])).toBe(false);
    expect(decays('stem.bn.weight', [16])).toBe(false);
    expect(decays('stages.2.1.transformer.0.norm1.weight', [64])).toBe(false);
  });

  it('matches PyTorch AdamW step for step, with and without decay', () => {
    const w0 = [0.5, -1.25, 2, 0.1, -0.3, 0.7];
    const b0 = [0.2, -0.4, 0.05];
    const gw = [[0.1, -0.2, 0.3, 0, 1, -1], [0.05, 0.4, -0.3, 0.2, 0.1, 0], [-0.5, 0.1, 0.2, 0.3, -0.2, 0.6]];
    const gb = [[1, -2, 0.5], [0.3, 0.3, -0.1], [0, 0.2, 0.9]];
    const lrs = [1e-3, 5e-3, 2e-3];
    const w = tf.variable(tf.tensor2d(w0, [2, 3]));
    const b = tf.variable(tf.tensor1d(b0));
    const opt = new AdamW([{ key: 'fc.weight', variable: w }, { key: 'fc.bias', variable: b }], S);
    for (let t = 0; t < 3; t++) {
      const g = new Map<string, tf.Tensor>([['fc.weight', tf.tensor2d(gw[t], [2, 3])], ['fc.bias', tf.tensor1d(gb[t])]]);
      opt.apply(g, lrs[t]);
      for (const x of g.values()) x.dispose();
    }
    const wantW = torchAdamW(w0, gw, lrs, true);
    const wantB = torchAdamW(b0, gb, lrs, false);
    Array.from(w.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(wantW[i], 6));
    Array.from(b.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(wantB[i], 6));
    // Without decay the bias must differ from what decay would have given.
    expect(Math.abs(torchAdamW(b0, gb, lrs, true)[0] - b.dataSync()[0])).toBeGreaterThan(1e-7);
    opt.dispose(); w.dispose(); b.dispose();
  });

  it('leaves parameters without a gradient (frozen) and their step count untouched', async () => {
    const a = tf.variable(tf.ones([2, 2]));
    const c = tf.variable(tf.ones([2, 2]));
    const opt = new AdamW([{ key: 'a.weight', variable: a }, { key: 'c.weight', variable: c }], S);
    const g = tf.ones([2, 2]);
    opt.apply(new Map([['a.weight', g]]), 0.1);
    expect(Array.from(c.dataSync())).toEqual([1, 1, 1, 1]);
    expect(a.dataSync()[0]).toBeLessThan(1);
    const { json } = await opt.exportState();
    expect(json.steps).toEqual({ 'a.weight': 1, 'c.weight': 0 });
    g.dispose(); opt.dispose(); a.dispose(); c.dispose();
  });

  it('continues identically after its state is exported and imported into a fresh optimizer', async () => {
    const grads = [0.3, -0.1, 0.7, 0.2].map((s) => tf.fill([3, 2], s));
    const run = async (split: boolean) => {
      const p = tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]));
      let opt = new AdamW([{ key: 'p.weight', variable: p }], S);
      for (let t = 0; t < 4; t++) {
        if (split && t === 2) {
          const st = await opt.exportState();
          opt.dispose();
          opt = new AdamW([{ key: 'p.weight', variable: p }], S);
          opt.importState(st.tensors, st.json, 'test');
        }
        opt.apply(new Map([['p.weight', grads[t]]]), 0.01);
      }
      const out = Array.from(p.dataSync());
      opt.dispose(); p.dispose();
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
    grads.forEach((g) => g.dispose());
  });

  it('refuses state whose shapes do not fit, naming the tensor', async () => {
    const p = tf.variable(tf.zeros([2, 2]));
    const opt = new AdamW([{ key: 'p.weight', variable: p }], S);
    const bad = new Map([['m.p.weight', { shape: [4], data: new Float32Array(4) }], ['v.p.weight', { shape: [2, 2], data: new Float32Array(4) }]]);
    expect(() => opt.importState(bad, { settings: S, steps: { 'p.weight': 1 } }, 'ckpt.safetensors')).toThrow(/ckpt.safetensors.*m\.p\.weight.*\[4\]/);
    opt.dispose(); p.dispose();
  });

  it('keeps the tensor count flat across steps', () => {
    const p = tf.variable(tf.zeros([4, 4]));
    const opt = new AdamW([{ key: 'p.weight', variable: p }], S);
    const g = tf.ones([4, 4]);
    opt.apply(new Map([['p.weight', g]]), 0.01);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.apply(new Map([['p.weight', g]]), 0.01);
    expect(tf.memory().numTensors).toBe(before);
    g.dispose(); opt.dispose(); p.dispose();
  });
});
