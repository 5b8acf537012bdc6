// Evaluation: plain cross-entropy (no label smoothing, as timm and ml-cvnets validate), top-1,
// top-5 (only with at least 5 classes, where it means something), per-class accuracy, the confusion
// matrix and every misclassified file with the class it was taken for and the model's confidence.
// The model runs in inference mode (BatchNorm running statistics, no dropout).
import * as tf from '@tensorflow/tfjs';
import { evalBatches, type EvalSet } from '../data/loader.ts';

export interface EvalBatch {
  x: tf.Tensor4D;
  /** Class index per image. */
  labels: Int32Array;
  /** Path of each image, for the list of misclassified files. */
  files: string[];
}

export interface Misclassified {
  file: string;
  trueClass: string;
  predictedClass: string;
  /** Softmax probability of the predicted class. */
  confidence: number;
}

export interface Evaluation {
  count: number;
  loss: number;
  top1: number;
  /** Null with fewer than 5 classes. */
  top5: number | null;
  perClass: { class: string; accuracy: number | null; count: number }[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  /** Most confident mistakes first. */
  misclassified: Misclassified[];
}

/** Accumulates per-image results batch by batch; kept apart from tfjs so it is cheap to test. */
export class EvalAccumulator {
  private lossSum = 0;
  private n = 0;
  private top1Hits = 0;
  private top5Hits = 0;
  private readonly confusion: number[][];
  private readonly misclassified: Misclassified[] = [];

  constructor(private readonly classes: string[]) {
    this.confusion = classes.map(() => classes.map(() => 0));
  }

  /** `logProbs` is [batch × classes] row-major log-softmax output (exact loss even for confident mistakes). */
  add(logProbs: Float32Array, labels: Int32Array, files: string[]): void {
    const c = this.classes.length;
    if (logProbs.length !== labels.length * c) throw new Error(`evaluation: ${logProbs.length} outputs for ${labels.length} images × ${c} classes`);
    for (let i = 0; i < labels.length; i++) {
      const row = logProbs.subarray(i * c, (i + 1) * c);
      const y = labels[i];
      if (!(y >= 0 && y < c)) throw new Error(`evaluation: label ${y} of ${files[i]} is outside 0..${c - 1}`);
      let pred = 0;
      let above = 0; // classes ranked strictly above the true one
      for (let k = 0; k < c; k++) {
        if (row[k] > row[pred]) pred = k;
        if (row[k] > row[y]) above++;
      }
      this.lossSum -= row[y];
      this.n++;
      if (pred === y) this.top1Hits++;
      if (above < 5) this.top5Hits++;
      this.confusion[y][pred]++;
      if (pred !== y) {
        this.misclassified.push({ file: files[i], trueClass: this.classes[y], predictedClass: this.classes[pred], confidence: Math.exp(row[pred]) });
      }
    }
  }

  result(): Evaluation {
    if (this.n === 0) throw new Error('evaluation: no images to evaluate');
    const perClass = this.classes.map((name, k) => {
      const count = this.confusion[k].reduce((a, b) => a + b, 0);
      return { class: name, accuracy: count ? this.confusion[k][k] / count : null, count };
    });
    return {
      count: this.n,
      loss: this.lossSum / this.n,
      top1: this.top1Hits / this.n,
      top5: this.classes.length >= 5 ? this.top5Hits / this.n : null,
      perClass,
      confusion: this.confusion.map((r) => r.slice()),
      misclassified: [...this.misclassified].sort((a, b) => b.confidence - a.confidence),
    };
  }
}

export interface EvalModel {
  /** Logits; a model on another runtime (onnxruntime) may answer asynchronously. */
  forward(x: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor2D | Promise<tf.Tensor2D>;
}

/**
 * Runs the model over every batch. Batches are disposed here once used, so a loader can hand them
 * over and forget them.
 */
export async function evaluate(model: EvalModel, batches: AsyncIterable<EvalBatch>, classes: string[]): Promise<Evaluation> {
  const acc = new EvalAccumulator(classes);
  for await (const batch of batches) {
    let logProbs: tf.Tensor2D;
    try {
      const logits = await model.forward(batch.x, { training: false });
      logProbs = tf.tidy(() => tf.logSoftmax(logits));
      logits.dispose();
    } finally {
      batch.x.dispose();
    }
    const data = (await logProbs.data()) as Float32Array;
    logProbs.dispose();
    acc.add(data, batch.labels, batch.files);
  }
  return acc.result();
}

/**
 * Evaluates on a prepared evaluation set (src/data's buildEvalSet), in batches of `batchSize`, where `model`
 * computes: a model of this process here, a compute device's (device/inference.ts) on that device.
 */
export async function evaluateSet(model: EvalModel, set: EvalSet, batchSize: number, classes: string[]): Promise<Evaluation> {
  async function* batches(): AsyncGenerator<EvalBatch> {
    for await (const b of evalBatches(set, batchSize)) {
      yield { x: tf.tensor4d(b.x, [b.labels.length, b.size, b.size, 3]), labels: b.labels, files: b.paths };
    }
  }
  return evaluate(model, batches(), classes);
}
