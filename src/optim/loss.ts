// Label-smoothing cross-entropy, as PyTorch's CrossEntropyLoss(label_smoothing=ε) and timm's
// LabelSmoothingCrossEntropy: the target puts 1−ε on the true class and spreads ε evenly over all
// classes, so loss = (1−ε)·NLL(true) + ε·mean_c(−log p_c), averaged over the batch.
import * as tf from '@tensorflow/tfjs';

export function smoothedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Scalar {
  return tf.tidy(() => {
    const numClasses = logits.shape[1];
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), numClasses).toFloat();
    const nll = tf.neg(tf.sum(tf.mul(logp, onehot), 1));
    if (smoothing === 0) return tf.mean(nll) as tf.Scalar;
    const uniform = tf.neg(tf.mean(logp, 1));
    return tf.mean(tf.add(tf.mul(nll, 1 - smoothing), tf.mul(uniform, smoothing))) as tf.Scalar;
  });
}
