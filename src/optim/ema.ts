// Exponential moving average of the weights (timm's ModelEmaV3 with warm-up): after every step
// ema ← d·ema + (1−d)·w with d = min(decay, (1 + n) / (10 + n)) for the n-th update, so the
// average follows the weights closely early on instead of being dominated by the random init —
// short runs on small datasets would otherwise evaluate an average of mostly untrained weights.
// Every parameter takes part, BatchNorm running statistics included (as timm averages the whole
// state dict).
import * as tf from '@tensorflow/tfjs';
import type { TensorMap } from '../model/safetensors.ts';
import { FUSED_UPDATE_KERNELS, fusedUpdatesRun } from '../util/kernel-traits.ts';

export interface EmaParam { key: string; variable: tf.Variable }

export class WeightEma {
  private readonly shadow = new Map<string, { source: tf.Variable; avg: tf.Variable }>();
  updates = 0;

  constructor(params: EmaParam[], readonly decay: number) {
    if (!(decay > 0 && decay < 1)) throw new Error(`training settings: emaDecay must be in (0, 1), got ${decay}`);
    for (const p of params) this.shadow.set(p.key, { source: p.variable, avg: tf.tidy(() => tf.variable(p.variable.clone(), false)) });
  }

  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  update(): void {
    const d = this.currentDecay();
    // One kernel per parameter where the backend has it (src/backend/kernels/adamw.c): the same float32 operations.
    const fused = fusedUpdatesRun(tf.getBackend());
    tf.tidy(() => {
      for (const { source, avg } of this.shadow.values()) {
        avg.assign(fused && source.dtype === 'float32'
          ? tf.engine().runKernel(FUSED_UPDATE_KERNELS.ema, { avg, w: source }, { d, oneMinusD: 1 - d }) as tf.Tensor
          : tf.add(tf.mul(avg, d), tf.mul(source, 1 - d)));
      }
    });
    this.updates += 1;
  }

  /**
   * Runs `fn` with the averaged weights in the model, then puts the trained weights back (also when
   * `fn` throws). Used for evaluation and for saving the weights a user gets.
   */
  async withAveraged<T>(fn: () => Promise<T>): Promise<T> {
    const saved = [...this.shadow.values()].map(({ source, avg }) => {
      const copy = source.clone();
      source.assign(avg);
      return { source, copy };
    });
    try {
      return await fn();
    } finally {
      for (const { source, copy } of saved) { source.assign(copy); copy.dispose(); }
    }
  }

  async exportState(): Promise<TensorMap> {
    const out: TensorMap = new Map();
    for (const [key, { avg }] of this.shadow) out.set(key, { shape: avg.shape.slice(), data: (await avg.data()) as Float32Array });
    return out;
  }

  importState(tensors: TensorMap, updates: number, source: string): void {
    for (const [key, { avg }] of this.shadow) {
      const t = tensors.get(key);
      if (!t || t.shape.join('x') !== avg.shape.join('x')) throw new Error(`${source}: EMA state for "${key}" is missing or mis-shaped`);
    }
    for (const [key, { avg }] of this.shadow) tf.tidy(() => avg.assign(tf.tensor(tensors.get(key)!.data, avg.shape)));
    this.updates = updates;
  }

  dispose(): void {
    for (const { avg } of this.shadow.values()) avg.dispose();
    this.shadow.clear();
  }
}
