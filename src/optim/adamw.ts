// AdamW (Loshchilov & Hutter): Adam with weight decay applied to the weights directly rather than
// through the gradient, written to match PyTorch's torch.optim.AdamW update step for step:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
// As timm and ml-cvnets do, biases and every 1-D parameter (BatchNorm/LayerNorm scales and shifts)
// get no weight decay: shrinking a normalisation scale towards zero only fights the normalisation.
// The step count is kept per parameter (as PyTorch does), so parameters that start training late
// (a backbone frozen for the first epochs) get their own bias correction.
import * as tf from '@tensorflow/tfjs';
import type { TensorMap } from '../model/safetensors.ts';
import { FUSED_UPDATE_KERNELS, fusedUpdatesRun } from '../util/kernel-traits.ts';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface OptimizedParam {
  /** Stable name (timm key) used in the serialised state. */
  key: string;
  variable: tf.Variable;
}

/** The JSON half of the optimizer state; the moment tensors go into a safetensors file. */
export interface AdamWStateJson {
  settings: AdamWSettings;
  steps: Record<string, number>;
}

export function decays(key: string, shape: readonly number[]): boolean {
  return shape.length > 1 && !key.endsWith('.bias');
}

interface Slot {
  param: OptimizedParam;
  m: tf.Variable;
  v: tf.Variable;
  step: number;
  decay: boolean;
}

export class AdamW {
  private readonly slots = new Map<string, Slot>();

  constructor(params: OptimizedParam[], readonly settings: AdamWSettings) {
    for (const param of params) {
      if (this.slots.has(param.key)) throw new Error(`AdamW: parameter "${param.key}" given twice`);
      this.slots.set(param.key, {
        param,
        // Inside tidy so the zeros the variables are made from are released (variables survive a tidy).
        m: tf.tidy(() => tf.variable(tf.zerosLike(param.variable), false)),
        v: tf.tidy(() => tf.variable(tf.zerosLike(param.variable), false)),
        step: 0,
        decay: decays(param.key, param.variable.shape),
      });
    }
  }

  /** One update with the given gradients (by parameter key); parameters without a gradient are left as they are. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.settings;
    // Where the backend has it, one kernel per parameter (src/backend/kernels/adamw.c) computes what the ops
    // below do, the same float32 operations on the same scalars.
    const fused = fusedUpdatesRun(tf.getBackend());
    tf.tidy(() => {
      for (const [key, g] of grads) {
        const s = this.slots.get(key);
        if (!s) throw new Error(`AdamW: gradient for unknown parameter "${key}"`);
        s.step += 1;
        const bc1 = 1 - beta1 ** s.step;
        const bc2 = 1 - beta2 ** s.step;
        const shrink = s.decay && weightDecay > 0 ? 1 - lr * weightDecay : null;
        if (fused) {
          const attrs = { beta1, oneMinusBeta1: 1 - beta1, beta2, oneMinusBeta2: 1 - beta2, sqrtBc2: Math.sqrt(bc2), eps, shrink, step: lr / bc1 };
          const [p, m, v] = tf.engine().runKernel(FUSED_UPDATE_KERNELS.adamw, { p: s.param.variable, g, m: s.m, v: s.v },
            attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
          s.m.assign(m);
          s.v.assign(v);
          s.param.variable.assign(p);
          continue;
        }
        const m = tf.add(tf.mul(s.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(s.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        s.m.assign(m);
        s.v.assign(v);
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        const p = shrink === null ? s.param.variable : tf.mul(s.param.variable, shrink);
        s.param.variable.assign(tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)));
      }
    });
  }

  /** Moments as named float32 arrays (`m.<key>`, `v.<key>`) plus the JSON half; reads the device. */
  async exportState(): Promise<{ tensors: TensorMap; json: AdamWStateJson }> {
    const tensors: TensorMap = new Map();
    const steps: Record<string, number> = {};
    for (const [key, s] of this.slots) {
      tensors.set(`m.${key}`, { shape: s.m.shape.slice(), data: (await s.m.data()) as Float32Array });
      tensors.set(`v.${key}`, { shape: s.v.shape.slice(), data: (await s.v.data()) as Float32Array });
      steps[key] = s.step;
    }
    return { tensors, json: { settings: { ...this.settings }, steps } };
  }

  /** Restores moments and step counts; every parameter must be present with its shape. */
  importState(tensors: TensorMap, json: AdamWStateJson, source: string): void {
    for (const [key, s] of this.slots) {
      for (const [name, target] of [[`m.${key}`, s.m], [`v.${key}`, s.v]] as const) {
        const t = tensors.get(name);
        if (!t) throw new Error(`${source}: optimizer state has no "${name}"`);
        if (t.shape.join('x') !== target.shape.join('x')) {
          throw new Error(`${source}: optimizer state "${name}" has shape [${t.shape}], the model needs [${target.shape}]`);
        }
      }
      if (typeof json.steps[key] !== 'number') throw new Error(`${source}: optimizer state has no step count for "${key}"`);
    }
    for (const [key, s] of this.slots) {
      tf.tidy(() => {
        s.m.assign(tf.tensor(tensors.get(`m.${key}`)!.data, s.m.shape));
        s.v.assign(tf.tensor(tensors.get(`v.${key}`)!.data, s.v.shape));
      });
      s.step = json.steps[key];
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) { s.m.dispose(); s.v.dispose(); }
    this.slots.clear();
  }
}
