// The fused AdamW and EMA updates (kernels/adamw.c) as TF.js kernels of the studio's own names
// (util/kernel-traits.ts FUSED_UPDATE_KERNELS); src/optim/adamw.ts and ema.ts use them where they exist.
import * as tf from '@tensorflow/tfjs';
import { FUSED_UPDATE_KERNELS } from '../util/kernel-traits.ts';
import type { KernelMaker as Maker } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf } from '../util/wasm-memory.ts';

/** The inputs, each float32 and of the first one's shape (a mismatch would read past a tensor's end). */
function sameShaped(kernel: string, args: Parameters<tf.KernelFunc>[0], names: string[]): tf.TensorInfo[] {
  const inputs = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const first = inputs[names[0]];
  return names.map((n) => {
    const t = inputs[n];
    if (!t || t.dtype !== 'float32' || t.shape.join() !== first!.shape.join()) {
      throw new Error(`${kernel}: input ${n} must be float32 of shape [${first?.shape}], got ${t ? `${t.dtype} [${t.shape}]` : 'none'}`);
    }
    return t;
  });
}

const adamw: Maker = (exportsFor) => (args) => {
  const [p, g, m, v] = sameShaped(FUSED_UPDATE_KERNELS.adamw, args, ['p', 'g', 'm', 'v']);
  const a = args.attrs as { beta1: number; oneMinusBeta1: number; beta2: number; oneMinusBeta2: number; sqrtBc2: number; eps: number;
    shrink: number | null; step: number };
  const backend = wasmBackendOf(args);
  const outs = [0, 1, 2].map(() => backend.makeOutput(p.shape, 'float32'));
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  exportsFor(backend).adamw_update(at(p), at(g), at(m), at(v), at(outs[0]), at(outs[1]), at(outs[2]), tf.util.sizeFromShape(p.shape),
    a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.sqrtBc2, a.eps, a.shrink === null ? 0 : 1, a.shrink ?? 1, a.step);
  return outs;
};

const ema: Maker = (exportsFor) => (args) => {
  const [avg, w] = sameShaped(FUSED_UPDATE_KERNELS.ema, args, ['avg', 'w']);
  const a = args.attrs as { d: number; oneMinusD: number };
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(avg.shape, 'float32');
  exportsFor(backend).ema_update(offsetOf(backend, avg), offsetOf(backend, w), offsetOf(backend, out), tf.util.sizeFromShape(avg.shape), a.d, a.oneMinusD);
  return out;
};

export const UPDATE_MAKERS: Record<string, Maker> = {
  [FUSED_UPDATE_KERNELS.adamw]: adamw,
  [FUSED_UPDATE_KERNELS.ema]: ema,
};
