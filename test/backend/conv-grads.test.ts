// The wasm convolution-gradient kernels against the cpu backend's own, on the shapes MobileViT and
// MobileNetV2 train with: explicit pad then 'valid', 1×1 and 3×3, stride 1 and 2, odd and even sizes.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { conv2dFilterGrad } from '../../src/backend/conv-grads.ts';
import { registerWasmGradKernels, WASM_GRAD_KERNELS } from '../../src/backend/wasm-grad-kernels.ts';

type Pad = 'valid' | 'same' | number;
interface Case {
  kind: 'conv' | 'depthwise';
  size: number; // square input
  k: number;
  stride: number;
  cin: number;
  cout: number; // conv: output channels; depthwise: channel multiplier
  explicitPad: number; // applied with tf.pad before the conv, as the model does
  pad: Pad; // the conv's own padding
}

/** Deterministic values in [-1, 1): the same numbers reach both backends. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const BATCH = 2;

/** Input and filter gradients of Σ r·conv(pad(x), w) on the current backend (r random, so dy is not constant). */
function gradients(c: Case): { dx: Float32Array; dw: Float32Array } {
  const xShape = [BATCH, c.size, c.size, c.cin];
  const wShape = [c.k, c.k, c.cin, c.cout];
  const x = tf.tensor4d(values(xShape.reduce((a, b) => a * b), 1), xShape as [number, number, number, number]);
  const w = tf.tensor4d(values(wShape.reduce((a, b) => a * b), 2), wShape as [number, number, number, number]);
  const f = (xi: tf.Tensor, wi: tf.Tensor) => {
    const p = c.explicitPad;
    const xp = p ? tf.pad(xi as tf.Tensor4D, [[0, 0], [p, p], [p, p], [0, 0]]) : (xi as tf.Tensor4D);
    const y = c.kind === 'conv'
      ? tf.conv2d(xp, wi as tf.Tensor4D, c.stride, c.pad)
      : tf.depthwiseConv2d(xp, wi as tf.Tensor4D, c.stride, c.pad);
    const r = tf.tensor(values(y.size, 3), y.shape);
    return tf.sum(tf.mul(y, r));
  };
  const [gx, gw] = tf.grads(f)([x, w]);
  const out = { dx: gx.dataSync() as Float32Array, dw: gw.dataSync() as Float32Array };
  tf.dispose([x, w, gx, gw]);
  return out;
}

function relErr(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

async function compare(c: Case): Promise<void> {
  await tf.setBackend('cpu');
  const ref = gradients(c);
  await tf.setBackend('wasm');
  const got = gradients(c);
  expect(relErr(got.dx, ref.dx)).toBeLessThanOrEqual(1e-4);
  expect(relErr(got.dw, ref.dw)).toBeLessThanOrEqual(1e-4);
}

const name = (c: Case) =>
  `${c.kind} ${c.k}x${c.k} stride ${c.stride} on ${c.size}x${c.size}x${c.cin}→${c.kind === 'conv' ? c.cout : 'x' + c.cout}, ` +
  `pad ${c.explicitPad} then '${c.pad}'`;

const MODEL_CASES: Case[] = [];
for (const size of [7, 8]) {
  for (const stride of [1, 2]) {
    for (const k of [1, 3]) {
      // Channel counts alternate between few-in/many-out and the reverse.
      const [cin, cout] = size === 7 ? [3, 16] : [16, 5];
      MODEL_CASES.push({ kind: 'conv', size, k, stride, cin, cout, explicitPad: k === 3 ? 1 : 0, pad: 'valid' });
    }
    MODEL_CASES.push({ kind: 'depthwise', size, k: 3, stride, cin: size === 7 ? 5 : 16, cout: 1, explicitPad: 1, pad: 'valid' });
  }
}

// Beyond what the model uses, but reachable through the kernels' attributes.
const OTHER_CASES: Case[] = [
  { kind: 'conv', size: 8, k: 3, stride: 2, cin: 4, cout: 6, explicitPad: 0, pad: 'same' }, // asymmetric pad
  { kind: 'conv', size: 7, k: 3, stride: 2, cin: 4, cout: 6, explicitPad: 0, pad: 1 },
  { kind: 'depthwise', size: 8, k: 3, stride: 2, cin: 6, cout: 1, explicitPad: 0, pad: 'same' },
  { kind: 'depthwise', size: 7, k: 3, stride: 1, cin: 6, cout: 1, explicitPad: 0, pad: 'same' },
  { kind: 'depthwise', size: 7, k: 3, stride: 2, cin: 3, cout: 2, explicitPad: 1, pad: 'valid' }, // multiplier 2
  { kind: 'depthwise', size: 9, k: 5, stride: 2, cin: 4, cout: 1, explicitPad: 2, pad: 'valid' },
];

beforeAll(async () => {
  await initBackend('wasm');
});

describe('wasm convolution gradients match the cpu backend (relative error ≤ 1e-4)', () => {
  it('registers the three kernels wasm lacks, its faster Conv2DBackpropInput and its sharing Identity, once', () => {
    for (const k of WASM_GRAD_KERNELS) expect(tf.getKernel(k, 'wasm')).toBeDefined();
    expect([...WASM_GRAD_KERNELS].sort()).toEqual(['Conv2DBackpropFilter', 'Conv2DBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'Identity']);
    expect(registerWasmGradKernels()).toEqual([]);
  });

  for (const c of MODEL_CASES) it(name(c), () => compare(c));
  for (const c of OTHER_CASES) it(name(c), () => compare(c));
});

describe('wasm convolution gradient kernels', () => {
  it('leak no tensors across training steps', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 9, 9, 4]) as tf.Tensor4D;
    const w1 = tf.randomNormal([3, 3, 4, 8]) as tf.Tensor4D;
    const w2 = tf.randomNormal([3, 3, 8, 1]) as tf.Tensor4D;
    const loss = (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => {
      const h = tf.conv2d(tf.pad(xi as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]]), a as tf.Tensor4D, 2, 'valid');
      return tf.sum(tf.square(tf.depthwiseConv2d(tf.pad(h, [[0, 0], [1, 1], [1, 1], [0, 0]]), b as tf.Tensor4D, 1, 'valid')));
    };
    const step = () => tf.dispose(tf.grads(loss)([x, w1, w2]));
    step();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([x, w1, w2]);
  });

  it('leave only their output behind when run outside any tidy scope', async () => {
    // tf.grads runs backward passes inside a scope that would hide a leak; run each kernel bare.
    await tf.setBackend('wasm');
    const x = tf.randomNormal([2, 8, 8, 4]), dy = tf.randomNormal([2, 4, 4, 4]);
    const w = tf.randomNormal([3, 3, 4, 1]), wc = tf.randomNormal([3, 3, 4, 4]);
    const attrs = { strides: 2, pad: 'same', dilations: 1 };
    const calls: Array<[string, tf.NamedTensorMap, object]> = [
      ['Conv2DBackpropFilter', { x, dy }, { ...attrs, dataFormat: 'NHWC', filterShape: [3, 3, 4, 4] }],
      ['Conv2DBackpropFilter', { x, dy }, { ...attrs, dataFormat: 'NHWC', filterShape: [1, 1, 4, 4] }],
      ['Conv2DBackpropInput', { dy, filter: wc }, { ...attrs, dataFormat: 'NHWC', inputShape: [2, 8, 8, 4] }],
      ['DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 4, 1] }],
      ['DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs, inputShape: [2, 8, 8, 4] }],
    ];
    for (const [kernel, inputs, kernelAttrs] of calls) {
      const before = tf.memory().numTensors;
      const out = tf.engine().runKernel(kernel, inputs, kernelAttrs as tf.NamedAttrMap) as tf.Tensor;
      expect(tf.memory().numTensors, kernel).toBe(before + 1);
      out.dispose();
    }
    tf.dispose([x, dy, w, wc]);
  });

  it('leave NCHW Conv2DBackpropInput to wasm\'s own kernel', async () => {
    const dyData = values(2 * 4 * 4 * 4, 5), wData = values(3 * 3 * 4 * 6, 6);
    const run = () => {
      const dy = tf.tensor4d(dyData, [2, 4, 4, 4]), filter = tf.tensor4d(wData, [3, 3, 6, 4]);
      const out = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter },
        { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 6, 8, 8] }) as tf.Tensor;
      const data = out.dataSync() as Float32Array;
      tf.dispose([dy, filter, out]);
      return data;
    };
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    expect(relErr(run(), ref)).toBeLessThanOrEqual(1e-5);
  });

  it('reject what they do not implement with a message naming the kernel', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D, dy = tf.zeros([1, 3, 3, 2]) as tf.Tensor4D;
    expect(() => conv2dFilterGrad(x, dy, [3, 3, 2, 2], { strides: 1, pad: 'valid', dilations: 2 }))
      .toThrow(/Conv2DBackpropFilter: only dilation 1/);
    expect(() => conv2dFilterGrad(x, tf.zeros([1, 4, 4, 2]) as tf.Tensor4D, [3, 3, 2, 2], { strides: 1, pad: 'valid' }))
      .toThrow(/dy is 4x4 but the conv .* gives 3x3/);
    expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
      { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] }))
      .toThrow(/NHWC only/);
    tf.dispose([x, dy]);
  });
});
