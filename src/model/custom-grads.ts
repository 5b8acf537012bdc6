// Normalisation and activation ops with hand-written gradients. TF.js's autodiff of these formulas is
// correct but costly on wasm: tf.batchNorm's backward tiles its per-channel factors to the full
// activation shape (a Tile kernel per layer, the second-largest cost of a training step), and every
// intermediate of x·sigmoid(x) or of a moments-based norm stays on the gradient tape until the
// backward pass. Each op here saves only the tensors its backward needs and reduces per channel with
// broadcasting instead.
import * as tf from '@tensorflow/tfjs';

/** Receives a batch's mean and biased variance per channel; they are released when it returns. */
export type StatsSink = (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;

/** Every axis but the last (the channels / features). */
const leadingAxes = (rank: number) => Array.from({ length: rank - 1 }, (_, i) => i);

/**
 * BatchNorm with the batch's own statistics over every axis but the last (channels-last input):
 * y = (x − mean)·rsqrt(var + eps)·gamma + beta, var biased. Its backward is the analytic one,
 *   dx = gamma·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)),  dgamma = Σ dy·x̂,  dbeta = Σ dy,
 * and it keeps only x (which the tape holds anyway as the producer's output), mean and invstd.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number,
  onStats?: StatsSink): tf.Tensor {
  const channels = x.shape[x.rank - 1];
  if (gamma.size !== channels || beta.size !== channels) {
    throw new Error(`batchNormTraining: ${channels} channels, gamma has ${gamma.size} and beta ${beta.size}`);
  }
  const axes = leadingAxes(x.rank);
  const n = x.size / channels;
  const op = tf.customGrad((xIn, g, b, save) => {
    const [x, gamma, beta] = [xIn, g, b] as tf.Tensor[];
    const { mean, variance } = tf.moments(x, axes);
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    const invstd = tf.rsqrt(tf.add(variance, eps));
    (save as tf.GradSaveFunc)([x, mean, invstd, gamma]);
    return {
      // FusedBatchNorm: one pass over x on wasm.
      value: tf.batchNorm(x, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, eps),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [x, mean, invstd, gamma] = saved;
        const centred = tf.sub(x, mean);
        const dbeta = tf.sum(dy, axes);
        const dyCentred = tf.sum(tf.mul(dy, centred), axes);
        const dgamma = tf.mul(dyCentred, invstd);
        // dx = a·dy + b·(x − mean) + c per channel, with a = gamma·invstd,
        // b = −a·invstd²·Σ(dy·(x − mean))/n and c = −a·Σdy/n.
        const a = tf.mul(gamma, invstd);
        const b = tf.mul(tf.mul(a, tf.square(invstd)), tf.mul(dyCentred, -1 / n));
        const c = tf.mul(a, tf.mul(dbeta, -1 / n));
        const dx = tf.add(tf.add(tf.mul(dy, a), tf.mul(centred, b)), c);
        return [dx, dgamma, dbeta];
      },
    };
  });
  return op(x, gamma, beta);
}

/** SiLU x·sigmoid(x), saving only x: dy·s·(1 + x·(1 − s)) recomputes s = sigmoid(x). */
export const silu: (x: tf.Tensor) => tf.Tensor = tf.customGrad((xIn, save) => {
  const x = xIn as tf.Tensor;
  (save as tf.GradSaveFunc)([x]);
  return {
    value: tf.mul(x, tf.sigmoid(x)),
    gradFunc: (dy: tf.Tensor, [x]: tf.Tensor[]) => {
      const s = tf.sigmoid(x);
      return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * 2-D a·b whose backward transposes explicitly: tf's MatMul gradient multiplies with transposeA /
 * transposeB, which on wasm runs six to seven times slower than a transpose then a plain matMul
 * (a [2048,64]ᵀ·[2048,192] weight gradient: 26 ms against 4 ms).
 */
export const matMul2d: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad((aIn, bIn, save) => {
  const [a, b] = [aIn, bIn] as tf.Tensor2D[];
  (save as tf.GradSaveFunc)([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, [a, b]: tf.Tensor[]) => [
      tf.matMul(dy, tf.transpose(b as tf.Tensor2D)),
      tf.matMul(tf.transpose(a as tf.Tensor2D), dy),
    ],
  };
}) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
