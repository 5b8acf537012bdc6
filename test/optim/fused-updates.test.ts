// AdamW's and the EMA's fused update on wasm (src/backend/kernels/adamw.c, one kernel per parameter) against
// the composed ops they replace: the same trajectory bit for bit over several steps, on wasm's own kernels
// (withTfjsKernels) and on the cpu backend, with weight decay, bias correction, the EMA's warm-up and sizes that
// leave a tail of the 4-wide loop.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { withTfjsKernels } from '../../src/backend/wasm-simd-kernels.ts';
import { AdamW } from '../../src/optim/adamw.ts';
import { WeightEma } from '../../src/optim/ema.ts';
import { FUSED_UPDATE_KERNELS, fusedUpdatesRun } from '../../src/util/kernel-traits.ts';
import { Rng } from '../../src/util/random.ts';

beforeAll(async () => { await initBackend('wasm'); }, 120_000);

function values(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

// Decayed weights (a filter, a matrix of 15 values), and undecayed bias and norm scale (10 and 7 values).
const PARAMS: Array<[string, number[]]> = [['conv.weight', [3, 3, 4, 6]], ['fc.weight', [5, 3]], ['fc.bias', [10]], ['norm.weight', [7]]];
const SETTINGS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
const LRS = [1e-3, 4e-3, 2e-3, 3e-2, 5e-4, 1e-2];

/** Six steps of AdamW + EMA from fixed weights and gradients; every parameter, moment and average after each. */
async function trajectory(): Promise<Float32Array[]> {
  const vars = PARAMS.map(([key, shape], i) => ({ key, variable: tf.variable(tf.tensor(values(tf.util.sizeFromShape(shape), 10 + i), shape)) }));
  const opt = new AdamW(vars, SETTINGS);
  const ema = new WeightEma(vars, 0.9);
  const seen: Float32Array[] = [];
  for (const [step, lr] of LRS.entries()) {
    // Gradients of very different sizes, so that ε and √v both matter.
    const grads = new Map(vars.map(({ key, variable }, i) => [key, tf.tensor(values(variable.size, 100 * step + i, 10 ** (i - 2)), variable.shape)]));
    opt.apply(grads, lr);
    ema.update();
    tf.dispose([...grads.values()]);
    const { tensors } = await opt.exportState();
    for (const v of vars) seen.push((await v.variable.data()) as Float32Array, tensors.get(`m.${v.key}`)!.data, tensors.get(`v.${v.key}`)!.data);
    for (const t of (await ema.exportState()).values()) seen.push(t.data);
  }
  opt.dispose(); ema.dispose();
  tf.dispose(vars.map((v) => v.variable));
  return seen;
}

describe('the fused AdamW and EMA updates', () => {
  it('follow the composed update bit for bit: on wasm without them, and on the cpu backend', async () => {
    await tf.setBackend('wasm');
    expect(fusedUpdatesRun('wasm')).toBe(true);
    const fused = await trajectory();
    const composed = await withTfjsKernels(async () => {
      expect(fusedUpdatesRun('wasm')).toBe(false);
      return trajectory();
    });
    await tf.setBackend('cpu');
    const cpu = await trajectory();
    await tf.setBackend('wasm');
    expect(fused.length).toBe(LRS.length * PARAMS.length * 4);
    fused.forEach((f, i) => {
      expect(Array.from(f), `tensor ${i} against wasm's ops`).toEqual(Array.from(composed[i]));
      expect(Array.from(f), `tensor ${i} against the cpu backend`).toEqual(Array.from(cpu[i]));
    });
    // The trajectory moved: a kernel that did nothing would not pass for one that updates.
    expect(Array.from(fused[0])).not.toEqual(Array.from(values(216, 10)));
  });

  it('take one kernel per parameter and leave no tensor behind', async () => {
    await tf.setBackend('wasm');
    const vars = PARAMS.map(([key, shape], i) => ({ key, variable: tf.variable(tf.tensor(values(tf.util.sizeFromShape(shape), i), shape)) }));
    const opt = new AdamW(vars, SETTINGS), ema = new WeightEma(vars, 0.99);
    const grads = new Map(vars.map(({ key, variable }) => [key, tf.onesLike(variable)]));
    opt.apply(grads, 1e-3); ema.update(); // the first step makes nothing that stays
    const before = tf.memory().numTensors;
    const profile = await tf.profile(() => { opt.apply(grads, 1e-3); ema.update(); });
    expect(profile.kernels.map((k) => k.name)).toEqual([...PARAMS.map(() => FUSED_UPDATE_KERNELS.adamw), ...PARAMS.map(() => FUSED_UPDATE_KERNELS.ema)]);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose(); ema.dispose();
    tf.dispose([...grads.values(), ...vars.map((v) => v.variable)]);
  });

  it('refuse inputs of another shape or type, naming the input', async () => {
    await tf.setBackend('wasm');
    const [a, b, i] = [tf.zeros([4]), tf.zeros([5]), tf.zeros([4], 'int32')];
    const run = (inputs: tf.NamedTensorMap) => tf.engine().runKernel(FUSED_UPDATE_KERNELS.ema, inputs, { d: 0.5, oneMinusD: 0.5 });
    expect(() => run({ avg: a, w: b })).toThrow(`${FUSED_UPDATE_KERNELS.ema}: input w must be float32 of shape [4], got float32 [5]`);
    expect(() => run({ avg: a, w: i })).toThrow(/input w must be float32 of shape \[4\], got int32 \[4\]/);
    tf.dispose([a, b, i]);
  });
});
