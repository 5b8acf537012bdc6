// What this machine does: the median time of a forward pass (inference) or of a whole optimizer step
// (training: train-mode forward, backward, AdamW, on the recipe's settings) after warm-up, on random
// pixels and labels. The `bench` command and `npm run bench` both measure through this.
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../model/index.ts';
import type { VariantName } from '../model/types.ts';
import { ADAMW } from './defaults.ts';
import { imagesPerPass } from './memory.ts';
import { Trainer } from '../optim/trainer.ts';
import { Rng, STREAM, tfSeed } from '../util/random.ts';
import { median } from '../util/median.ts';

export type SpeedMode = 'inference' | 'training';

export interface SpeedOptions {
  variant: VariantName;
  mode: SpeedMode;
  imageSize: number;
  batchSize: number;
  runs: number;
  warmup?: number;
  /** Classes of the classifier (the default is ImageNet's). */
  numClasses?: number;
}

export interface SpeedResult {
  variant: VariantName;
  mode: SpeedMode;
  imageSize: number;
  batchSize: number;
  backend: string;
  /** Processes working on it (the wasm engine is one). */
  workers: number;
  medianMs: number;
  imagesPerSec: number;
  runs: number;
  /** Every timed run, ms. */
  times: number[];
}

export async function measureSpeed(o: SpeedOptions, onRun?: (done: number, total: number) => void): Promise<SpeedResult> {
  const warmup = o.warmup ?? (o.mode === 'training' ? 1 : 3);
  const numClasses = o.numClasses ?? 1000;
  const model = createModel(o.variant, { numClasses, seed: 1 });
  const rng = new Rng(7);
  const x = tf.tensor4d(Float32Array.from({ length: o.batchSize * o.imageSize * o.imageSize * 3 }, () => rng.next()), [o.batchSize, o.imageSize, o.imageSize, 3]);
  const labels = Int32Array.from({ length: o.batchSize }, () => rng.int(0, numClasses - 1));
  const trainer = o.mode === 'training'
    ? new Trainer(model, { adamw: { ...ADAMW, weightDecay: 0.01 }, labelSmoothing: 0.1, gradClip: 10, emaDecay: null })
    : null;
  const perPass = imagesPerPass(tf.getBackend(), o.variant, o.imageSize);
  let step = 0;
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    if (trainer) {
      let i = 0;
      await trainer.step(x, labels, 1e-3, () => tfSeed(1, STREAM.dropout, step, i++), false, perPass);
      step++;
    } else {
      const y = model.forward(x);
      await y.data();
      y.dispose();
    }
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < warmup; i++) await once();
    const times: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      times.push(await once());
      onRun?.(i + 1, o.runs);
    }
    const medianMs = median(times);
    return {
      variant: o.variant, mode: o.mode, imageSize: o.imageSize, batchSize: o.batchSize, backend: tf.getBackend(), workers: 1,
      medianMs: +medianMs.toFixed(2), imagesPerSec: +((o.batchSize * 1000) / medianMs).toFixed(2), runs: o.runs, times,
    };
  } finally {
    trainer?.dispose();
    x.dispose();
    model.dispose();
  }
}
