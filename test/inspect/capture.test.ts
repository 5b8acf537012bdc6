// Attention captured from the real forward pass: checked against attention recomputed independently in
// plain JS from the block's feature map and its weights, against hand-set weights with known attention,
// and for the grid the model used after a resize.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { createModel, type Model } from '../../src/model/index.ts';
import { queryAttention } from '../../src/inspect/attention-math.ts';
import { answerQuery, findBlock } from '../../src/inspect/attention.ts';
import { captureAttention, checkBlockIndex } from '../../src/inspect/capture.ts';
import { imageTensor, randomImage } from '../../src/inspect/image.ts';

let model: Model;
beforeAll(async () => {
  await initBackend('wasm');
  model = createModel('mobilevit_xxs', { numClasses: 10, seed: 3 });
  // Spread the attention logits so the maps are far from uniform: timm's init (std 0.01) makes them nearly flat.
  for (const [key, p] of model.params) {
    if (key.endsWith('attn.qkv.weight')) tf.tidy(() => p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.5, 'float32', 7)));
  }
});
afterAll(() => model.dispose());

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

/** Softmax attention of one head, recomputed in JS: query pixel q, key pixels ks, features [H, W, d]. */
function referenceAttention(m: Model, key: string, feat: Float32Array, width: number, d: number, heads: number, q: [number, number], ks: [number, number][], head: number): number[] {
  const read = (k: string) => m.params.get(k)!.variable.dataSync() as Float32Array;
  const gamma = read(`${key}.norm1.weight`), beta = read(`${key}.norm1.bias`);
  const w = read(`${key}.attn.qkv.weight`), b = read(`${key}.attn.qkv.bias`); // w stored [d, 3d]
  const hd = d / heads;
  const project = ([y, x]: [number, number], part: number) => {
    const v = feat.subarray((y * width + x) * d, (y * width + x + 1) * d);
    const mean = sum(v) / d;
    const variance = sum(Array.from(v, (t) => (t - mean) ** 2)) / d;
    const n = Array.from(v, (t, i) => ((t - mean) / Math.sqrt(variance + 1e-5)) * gamma[i] + beta[i]);
    return Array.from({ length: hd }, (_, j) => {
      const col = part * d + head * hd + j;
      return n.reduce((s, t, i) => s + t * w[i * 3 * d + col], b[col]);
    });
  };
  const query = project(q, 0);
  const logits = ks.map((k) => project(k, 1).reduce((s, t, j) => s + t * query[j], 0) / Math.sqrt(hd));
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  return e.map((v) => v / sum(e));
}

describe('captureAttention', () => {
  it('returns probability maps with the block shapes of the variant, and leaks nothing', async () => {
    const x = imageTensor(randomImage(64, 1));
    const before = tf.memory().numTensors;
    const cap = await captureAttention(model, x);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    expect(cap.summaries.map((s) => [s.name, s.layers, s.heads, s.grid])).toEqual([
      ['stages.2.1', 2, 4, [4, 4]], ['stages.3.1', 4, 4, [2, 2]], ['stages.4.1', 3, 4, [1, 1]],
    ]);
    expect(sum(cap.probs)).toBeCloseTo(1, 5);
    for (const b of cap.blocks) {
      expect(b.layers[0].length).toBe(4 * b.heads * b.tokens * b.tokens);
      for (const layer of b.layers) for (let row = 0; row < layer.length; row += b.tokens)
        expect(sum(layer.subarray(row, row + b.tokens))).toBeCloseTo(1, 5);
    }
    const map = queryAttention(cap.blocks[0], { layer: 'rollout', head: 'mean', patch: [1, 2], pixel: 'mean' });
    expect(sum(map)).toBeCloseTo(1, 6);
  });

  it('captures only the requested block but still describes all of them', async () => {
    const x = imageTensor(randomImage(64, 1));
    const cap = await captureAttention(model, x, [1]);
    x.dispose();
    expect(cap.blocks.map((b) => b.index)).toEqual([1]);
    expect(cap.summaries).toHaveLength(3);
    expect(() => findBlock(cap.blocks, 0)).toThrow(/block 0 is out of range/);
    expect(() => checkBlockIndex(model, 3)).toThrow(/3 MobileViT blocks \(0\.\.2\)/);
  });

  it('equals attention recomputed from the block\'s feature map, pixel (2r+ph, 2c+pw) for patch (r,c)', async () => {
    const x = imageTensor(randomImage(64, 2));
    let feat: tf.Tensor | undefined;
    model.forward(x, { probe: { partEnd: (b, part, t) => { if (b.mobilevitIndex === 0 && part === 'local') feat = tf.keep(t.clone()); } } }).dispose();
    const cap = await captureAttention(model, x, [0]);
    x.dispose();
    const [, h, w, d] = feat!.shape as number[];
    const data = feat!.dataSync() as Float32Array;
    feat!.dispose();
    expect([h, w]).toEqual([8, 8]);
    const block = cap.blocks[0];
    const keysAt = (ph: number, pw: number) => Array.from({ length: 16 }, (_, t) => [2 * Math.floor(t / 4) + ph, 2 * (t % 4) + pw] as [number, number]);
    for (const [patch, pixel, head] of [[[1, 2], [1, 0], 3], [[3, 0], [0, 1], 0], [[0, 3], [1, 1], 2]] as const) {
      const got = queryAttention(block, { layer: 0, head, patch: [...patch], pixel: [...pixel] });
      const want = referenceAttention(model, 'stages.2.1.transformer.0', data, w, d, 4,
        [2 * patch[0] + pixel[0], 2 * patch[1] + pixel[1]], keysAt(pixel[0], pixel[1]), head);
      Array.from(got).forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
      expect(Math.max(...want)).toBeGreaterThan(2 / 16); // the check is not trivially uniform
    }
  });

  it('gives the known maps when q·k is zeroed: uniform per layer, 2^-L·I + (1-2^-L)/N rolled out', async () => {
    const m = createModel('mobilevit_xxs', { numClasses: 10, seed: 4 });
    try {
      for (const [key, p] of m.params) if (/^stages\.2\.1\.transformer\.\d\.attn\.qkv\./.test(key)) tf.tidy(() => p.variable.assign(tf.zerosLike(p.variable)));
      const x = imageTensor(randomImage(64, 3));
      const cap = await captureAttention(m, x, [0]);
      x.dispose();
      const b = cap.blocks[0];
      const layer = answerQuery(b, { layer: 1, head: 2, patch: [2, 1], pixel: [0, 1] }, [64, 64]);
      layer.map.flat().forEach((v) => expect(v).toBeCloseTo(1 / 16, 6));
      const rolled = answerQuery(b, { layer: 'rollout', head: 'mean', patch: [2, 1], pixel: 'mean' }, [64, 64]);
      rolled.map.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo((r === 2 && c === 1 ? 0.25 : 0) + 0.75 / 16, 6)));
      // The same map on the 64×64 input: each patch covers a 16×16 square and the total stays 1.
      expect(rolled.pixelMap[(2 * 16) * 64 + 16]).toBeCloseTo((0.25 + 0.75 / 16) / 256, 8);
      expect(sum(rolled.pixelMap)).toBeCloseTo(1, 5);
    } finally {
      m.dispose();
    }
  });

  it('reports the grid the model used after resizing an odd feature map', async () => {
    const x = imageTensor(randomImage(80, 5)); // stage maps 10×10, 5×5 (→ 6×6), 3×3 (→ 4×4)
    const cap = await captureAttention(model, x, [2]);
    x.dispose();
    expect(cap.summaries.map((s) => [s.grid, s.featureSize])).toEqual([[[5, 5], [10, 10]], [[3, 3], [5, 5]], [[2, 2], [3, 3]]]);
    expect(cap.blocks[0].tokens).toBe(4);
    const a = answerQuery(cap.blocks[0], { layer: 2, head: 'mean', patch: [1, 1], pixel: 'mean' }, [80, 80]);
    expect(sum(a.map.flat())).toBeCloseTo(1, 6);
    expect(a.featureSize).toEqual([3, 3]);
  });

  it('refuses MobileNetV2, which has no attention', async () => {
    const m = createModel('mobilenet_v2', { numClasses: 10 });
    const x = imageTensor(randomImage(32, 0));
    await expect(captureAttention(m, x)).rejects.toThrow(/no MobileViT blocks/);
    x.dispose();
    m.dispose();
  });
});
