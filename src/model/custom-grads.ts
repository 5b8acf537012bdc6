// Normalisation and activation ops with hand-written gradients. TF.js's autodiff of these formulas is
// correct but costly on wasm: tf.batchNorm's backward tiles its per-channel factors to the full
// activation shape (a Tile kernel per layer, the second-largest cost of a training step), and every
// intermediate of x·sigmoid(x) or of a moments-based norm stays on the gradient tape until the
// backward pass. Each op here saves only the tensors its backward needs and reduces per channel with
// broadcasting instead.
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_KERNELS, fusedBatchNormFits, fusedLayerNormRuns, LAYER_NORM_KERNELS, fusedSoftmaxRuns, SOFTMAX_KERNELS } from '../util/kernel-traits.ts';

/** Receives a batch's mean and biased variance per channel; they are released when it returns. */
export type StatsSink = (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;

export type Activation = 'silu' | 'relu6' | 'relu' | 'none';

/** Every axis but the last (the channels / features). */
const leadingAxes = (rank: number) => Array.from({ length: rank - 1 }, (_, i) => i);

/**
 * Wraps a gradFunc in tf.tidy. The engine calls a customGrad's gradFunc outside the per-node tidy
 * it gives built-in gradients, so without this every temporary of the backward (several full-size
 * tensors per layer) would live until the whole backward pass ends.
 */
export function tidyGrad<S extends tf.Tensor[]>(f: (dy: tf.Tensor, saved: S) => tf.Tensor | tf.Tensor[]) {
  return (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => f(dy, saved as S));
}

/** d act(y)/dy · dy for the activation applied to y. */
function activationGrad(dy: tf.Tensor, y: tf.Tensor, act: Activation): tf.Tensor {
  if (act === 'silu') {
    const s = tf.sigmoid(y);
    return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(y, tf.sub(1, s)))));
  }
  if (act === 'relu6') return tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(y, 0), tf.less(y, 6)), 'float32'));
  if (act === 'relu') return tf.mul(dy, tf.cast(tf.greater(y, 0), 'float32'));
  return dy;
}

function applyActivation(y: tf.Tensor, act: Activation): tf.Tensor {
  if (act === 'silu') return tf.mul(y, tf.sigmoid(y));
  if (act === 'relu6') return tf.relu6(y);
  if (act === 'relu') return tf.relu(y);
  return y;
}

export interface BatchNormTrainingOptions {
  eps: number;
  /** Applied to the normalised output inside the op, so its input need not be kept for the backward. */
  act?: Activation;
  onStats?: StatsSink;
}

/**
 * BatchNorm with the batch's own statistics over every axis but the last (channels-last input),
 * then an activation: act((x − mean)·rsqrt(var + eps)·gamma + beta), var biased. Its backward is
 * the analytic one, with dy first taken through the activation (d = act'(y)·dy):
 *   dx = gamma·invstd·(d − mean(d) − x̂·mean(d·x̂)),  dgamma = Σ d·x̂,  dbeta = Σ d,
 * and it keeps only x (which the tape holds anyway as the producer's output), mean and variance:
 * the normalised y is recomputed (one FusedBatchNorm kernel) rather than stored.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D,
  { eps, act = 'none', onStats }: BatchNormTrainingOptions): tf.Tensor {
  const channels = x.shape[x.rank - 1];
  if (gamma.size !== channels || beta.size !== channels) {
    throw new Error(`batchNormTraining: ${channels} channels, gamma has ${gamma.size} and beta ${beta.size}`);
  }
  if (fusedBatchNormFits(tf.getBackend(), channels)) return fusedBatchNormTraining(x, gamma, beta, { eps, act, onStats });
  const axes = leadingAxes(x.rank);
  const n = x.size / channels;
  // FusedBatchNorm: one pass over x on wasm.
  const normalise = (x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
    tf.batchNorm(x, mean as tf.Tensor1D, variance as tf.Tensor1D, beta as tf.Tensor1D, gamma as tf.Tensor1D, eps);
  const op = tf.customGrad((xIn, g, b, save) => {
    const [x, gamma, beta] = [xIn, g, b] as tf.Tensor[];
    const { mean, variance } = tf.moments(x, axes);
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    (save as tf.GradSaveFunc)([x, mean, variance, gamma, beta]);
    return {
      value: applyActivation(normalise(x, mean, variance, gamma, beta), act),
      gradFunc: tidyGrad((dyOut, [x, mean, variance, gamma, beta]) => {
        const dy = act === 'none' ? dyOut : activationGrad(dyOut, normalise(x, mean, variance, gamma, beta), act);
        const invstd = tf.rsqrt(tf.add(variance, eps));
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
      }),
    };
  });
  return op(x, gamma, beta);
}

/**
 * batchNormTraining on the backend's fused kernels (util/kernel-traits.ts): the same maths and the same saved
 * tensors, in one kernel for the statistics, one for the forward and one for the whole backward.
 */
function fusedBatchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D,
  { eps, act = 'none', onStats }: BatchNormTrainingOptions): tf.Tensor {
  const run = (name: string, inputs: tf.NamedTensorMap) => tf.engine().runKernel(name, inputs, { eps, act } as unknown as tf.NamedAttrMap);
  const op = tf.customGrad((xIn, g, b, save) => {
    const [x, gamma, beta] = [xIn, g, b] as tf.Tensor[];
    const [mean, variance] = run(BATCH_NORM_KERNELS.moments, { x }) as tf.Tensor[];
    onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    (save as tf.GradSaveFunc)([x, mean, variance, gamma, beta]);
    return {
      value: run(BATCH_NORM_KERNELS.act, { x, mean, variance, gamma, beta }) as tf.Tensor,
      gradFunc: (dy, [x, mean, variance, gamma, beta]) => run(BATCH_NORM_KERNELS.actGrad, { x, dy, mean, variance, gamma, beta }) as tf.Tensor[],
    };
  });
  return op(x, gamma, beta);
}

/** SiLU x·sigmoid(x), saving only x: the backward recomputes sigmoid(x). */
export const silu: (x: tf.Tensor) => tf.Tensor = tf.customGrad((xIn, save) => {
  const x = xIn as tf.Tensor;
  (save as tf.GradSaveFunc)([x]);
  return {
    value: applyActivation(x, 'silu'),
    gradFunc: tidyGrad((dy, [x]) => activationGrad(dy, x, 'silu')),
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * LayerNorm over the last axis: y = x̂·gamma + beta, x̂ = (x − mean)·invstd. Backward, with g = dy·gamma:
 *   dx = invstd·(g − mean(g) − x̂·mean(g·x̂)),  dgamma = Σ dy·x̂,  dbeta = Σ dy (sums over leading axes).
 * Saves x̂ (which the forward computes anyway) and the per-row invstd, so the backward does not compute x̂ again
 * (two passes over the activations); the statistics are tf.moments' (mean, then the mean of the squared
 * deviations). Where the backend has the studio's LayerNorm kernels (util/kernel-traits.ts), each direction is one
 * kernel (src/backend/kernels/layernorm.c); elsewhere it is composed from TF.js's ops.
 */
export function layerNormLastAxis(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const dim = x.shape[x.rank - 1];
  if (gamma.size !== dim || beta.size !== dim) {
    throw new Error(`layerNormLastAxis: ${dim} features, gamma has ${gamma.size} and beta ${beta.size}`);
  }
  return (fusedLayerNormRuns(tf.getBackend()) ? fusedLayerNorm : composedLayerNorm)(x, gamma, beta, eps);
}

/** layerNormLastAxis on the backend's fused kernels: the same saved tensors, one kernel each way (statistics as precise or more). */
function fusedLayerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const op = tf.customGrad((xIn, g, b, save) => {
    const [y, xhat, invstd] = tf.engine().runKernel(LAYER_NORM_KERNELS.forward, { x: xIn as tf.Tensor, gamma: g as tf.Tensor, beta: b as tf.Tensor },
      { eps } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    (save as tf.GradSaveFunc)([xhat, invstd, g as tf.Tensor]);
    return {
      value: y,
      gradFunc: (dy, [xhat, invstd, gamma]) => tf.engine().runKernel(LAYER_NORM_KERNELS.backward, { dy, xhat, invstd, gamma }) as tf.Tensor[],
    };
  });
  return op(x, gamma, beta);
}

function composedLayerNorm(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor {
  const lead = leadingAxes(x.rank);
  const op = tf.customGrad((xIn, g, b, save) => {
    const [x, gamma, beta] = [xIn, g, b] as tf.Tensor[];
    const centred = tf.sub(x, tf.mean(x, -1, true));
    const invstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
    const xhat = tf.mul(centred, invstd);
    (save as tf.GradSaveFunc)([xhat, invstd, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      gradFunc: tidyGrad((dy, [xhat, invstd, gamma]) => {
        const g = tf.mul(dy, gamma);
        const gMean = tf.mean(g, -1, true);
        const gxMean = tf.mean(tf.mul(g, xhat), -1, true);
        const dx = tf.mul(tf.sub(tf.sub(g, gMean), tf.mul(xhat, gxMean)), invstd);
        return [dx, tf.sum(tf.mul(dy, xhat), lead), tf.sum(dy, lead)];
      }),
    };
  });
  return op(x, gamma, beta);
}

/**
 * Softmax over the last axis (attention's weights), saving only its output y. Backward: dx = y·(dy − Σ dy·y) per row.
 * Where the backend has the studio's softmax kernels (util/kernel-traits.ts), each direction is one kernel that reads
 * a row once or twice while it is in cache (src/backend/kernels/softmax.c; docs/measured.md "Softmax kernel").
 * Elsewhere it is tf.softmax, and TF.js's multiply and sum for Σ dy·y.
 */
export function softmaxLastAxis(x: tf.Tensor): tf.Tensor {
  return (fusedSoftmaxRuns(tf.getBackend()) ? fusedSoftmax : composedSoftmax)(x);
}

const fusedSoftmax: (x: tf.Tensor) => tf.Tensor = tf.customGrad((xIn, save) => {
  const y = tf.engine().runKernel(SOFTMAX_KERNELS.forward, { x: xIn as tf.Tensor }) as tf.Tensor;
  (save as tf.GradSaveFunc)([y]);
  return { value: y, gradFunc: (dy, [y]) => tf.engine().runKernel(SOFTMAX_KERNELS.grad, { y, dy }) as tf.Tensor };
}) as (x: tf.Tensor) => tf.Tensor;

const composedSoftmax: (x: tf.Tensor) => tf.Tensor = tf.customGrad((xIn, save) => {
  const y = tf.softmax(xIn as tf.Tensor);
  (save as tf.GradSaveFunc)([y]);
  return { value: y, gradFunc: tidyGrad((dy, [y]) => tf.mul(tf.sub(dy, tf.sum(tf.mul(dy, y), -1, true)), y)) };
}) as (x: tf.Tensor) => tf.Tensor;
