// The studio's depthwise convolution kernels on wasm (src/backend/kernels/depthwise-conv.c): forward, fused with
// bias and activation, and the input gradient, equal to the cpu backend's on the shapes MobileViT and
// MobileNetV2 use (3×3, stride 1 and 2, PyTorch's symmetric padding, odd map sizes, channels that leave a tail
// of the 16-wide loop) and on those the kernel leaves to TF.js (channels not in 4s, multiplier 2, dilation).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { BackendReport } from '../../src/backend/report.ts';
import { Rng } from '../../src/util/random.ts';

let report: BackendReport;
beforeAll(async () => { report = await initBackend('wasm'); }, 120_000);

function values(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.next() * 2 - 1);
}

type Pad = 'valid' | 'same' | number;
interface Case { x: number[]; k: number; stride: number; pad: Pad; m?: number; dilation?: number }

const TAKEN: Case[] = [
  { x: [2, 9, 7, 36], k: 3, stride: 1, pad: 1 }, // odd sizes; 36 channels = 16 + 16 + 4
  { x: [2, 9, 7, 36], k: 3, stride: 2, pad: 1 },
  { x: [1, 8, 8, 32], k: 3, stride: 2, pad: 1 }, // even map, stride 2: the last row/column of padding unread
  { x: [3, 5, 6, 4], k: 3, stride: 1, pad: 'same' }, // one vector of channels
  { x: [1, 7, 7, 8], k: 3, stride: 2, pad: 'same' }, // TF's asymmetric 'same'
  { x: [2, 4, 4, 20], k: 3, stride: 1, pad: 'valid' },
  { x: [1, 11, 10, 12], k: 5, stride: 2, pad: 2 },
  { x: [1, 2, 3, 16], k: 3, stride: 2, pad: 1 }, // maps smaller than the filter
  { x: [1, 5, 6, 8], k: 3, stride: 1, pad: 3 }, // padding as wide as the filter: the input gradient gathers at stride 1 too
];
const LEFT_TO_TFJS: Case[] = [
  { x: [2, 6, 5, 6], k: 3, stride: 1, pad: 1 }, // channels not a multiple of 4
  { x: [1, 6, 6, 8], k: 3, stride: 2, pad: 1, m: 2 }, // channel multiplier 2
  { x: [1, 9, 9, 8], k: 3, stride: 1, pad: 2, dilation: 2 }, // dilated (TF.js has no dilated gradient: forward only)
];

/** On `backend`: the forward, the fused forwards (bias + linear / relu / relu6) and the input gradient. */
async function run(backend: string, c: Case): Promise<number[][]> {
  await tf.setBackend(backend);
  const ch = c.x[3], m = c.m ?? 1, dil = c.dilation ?? 1;
  const x = tf.tensor4d(values(c.x, 1), c.x as [number, number, number, number]);
  const w = tf.tensor4d(values([c.k, c.k, ch, m], 2), [c.k, c.k, ch, m]);
  const bias = tf.tensor1d(values([ch * m], 3));
  const y = tf.depthwiseConv2d(x, w, c.stride, c.pad, 'NHWC', dil);
  const fused = (['linear', 'relu', 'relu6'] as const).map((activation) =>
    tf.fused.depthwiseConv2d({ x, filter: w, strides: c.stride, pad: c.pad, dilations: dil, bias, activation }));
  const out = [Array.from(await y.data()), ...await Promise.all(fused.map(async (f) => Array.from(await f.data())))];
  if (dil === 1) {
    const r = tf.tensor(values(y.shape, 4), y.shape);
    const gx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(v as tf.Tensor4D, w, c.stride, c.pad), r)))(x);
    expect(gx.shape).toEqual(c.x);
    out.push(Array.from(await gx.data()));
    tf.dispose([r, gx]);
  }
  tf.dispose([x, w, bias, y, ...fused]);
  return out;
}

async function expectLikeCpu(c: Case): Promise<void> {
  const [want, got] = [await run('cpu', c), await run('wasm', c)];
  const names = ['forward', 'fused linear', 'fused relu', 'fused relu6', 'input gradient'];
  expect(got.length).toBe(want.length);
  want.forEach((w, n) => {
    expect(got[n].length, `${JSON.stringify(c)} ${names[n]}`).toBe(w.length);
    const scale = Math.max(1, ...w.map(Math.abs));
    got[n].forEach((v, i) => expect(Math.abs(v - w[i]) / scale, `${JSON.stringify(c)} ${names[n]} [${i}]`).toBeLessThan(1e-6));
  });
}

describe("the studio's depthwise convolution kernels on wasm", () => {
  it('are in use on wasm', () => {
    expect(report.kernels?.names).toEqual(expect.arrayContaining(['DepthwiseConv2dNative', 'FusedDepthwiseConv2D', 'DepthwiseConv2dNativeBackpropInput']));
  });

  it("equal the cpu backend's forward, fused forward and input gradient on every shape class they take", async () => {
    for (const c of TAKEN) await expectLikeCpu(c);
  });

  it("leave the rest to TF.js's kernels, still equal to the cpu backend's", async () => {
    for (const c of LEFT_TO_TFJS) await expectLikeCpu(c);
  });

  it('count only the taps inside the map, with a bias and relu6 after the sum', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([1, 5, 5, 8]) as tf.Tensor4D, w = tf.ones([3, 3, 8, 1]) as tf.Tensor4D, bias = tf.fill([8], -1);
    const y = tf.depthwiseConv2d(x, w, 2, 1);
    const z = tf.fused.depthwiseConv2d({ x, filter: w, strides: 2, pad: 1, bias, activation: 'relu6' });
    // The corners see 4 taps, the edges 6, the centre 9 (3×3 output of a 5×5 map, stride 2, pad 1).
    expect(Array.from(await y.data()).filter((_, i) => i % 8 === 0)).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
    expect(Array.from(await z.data()).filter((_, i) => i % 8 === 7)).toEqual([3, 5, 3, 5, 6, 5, 3, 5, 3]);
    tf.dispose([x, w, bias, y, z]);
  });
});
