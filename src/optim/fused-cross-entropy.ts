// Softmax cross-entropy as one kernel where the backend has the studio's (util/kernel-traits.ts
// SOFTMAX_XENT_KERNEL: wasm with the SIMD kernels): its forward returns the loss and the loss's gradient, the
// gradient is kept for the backward pass, which only scales it by the incoming gradient (not at all when that is
// 1, as for a loss that is the objective itself: a pass over the logits saved; reading a scalar is free on wasm).
import * as tf from '@tensorflow/tfjs';
import { SOFTMAX_XENT_KERNEL } from '../util/kernel-traits.ts';

/**
 * logits [rows, classes] and int32 labels [rows] → the mean of −log softmax(logits)[label] over the rows whose
 * label is not `ignore` (0 with none). A label outside [0, classes) that is not `ignore` counts in the mean with
 * loss 0, as a one-hot formulation gives it. Only where fusedSoftmaxXentRuns(tf.getBackend()).
 */
export function fusedSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, ignore: number): tf.Scalar {
  const op = tf.customGrad((x, save) => {
    const [loss, grad] = tf.engine().runKernel(SOFTMAX_XENT_KERNEL, { logits: x as tf.Tensor, labels }, { ignore }) as tf.Tensor[];
    (save as tf.GradSaveFunc)([grad]);
    return { value: loss, gradFunc: (dy, [g]) => (dy.size === 1 && dy.dataSync()[0] === 1 ? tf.clone(g) : tf.mul(g, dy)) };
  });
  return op(logits) as tf.Scalar;
}
