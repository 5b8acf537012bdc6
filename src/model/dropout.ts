// Dropout with its mask drawn here, in one pass of JavaScript, and applied by one multiply each way. tf.dropout
// draws a uniform number per element with TF.js's JavaScript generator (about 27 ms of an XXS step at 256 px,
// batch 8) and then runs four kernels forward (add, floor, divide, multiply) with their gradients and saved
// tensors backward; here the backward is dy·mask and the mask is all it keeps.
import * as tf from '@tensorflow/tfjs';
import { filledFloat32 } from '../util/host-float32.ts';
import { mixSeed, Rng } from '../util/random.ts';

/**
 * A mask of `size` elements, each 0 with probability `rate` (independently) and 1/(1 − rate) otherwise, the
 * same for the same seed. Only the dropped elements are drawn: the gaps between them are geometric,
 * P(gap = k) = (1 − rate)^k · rate, sampled by inversion, so a rate of 0.05 costs one draw per 20 elements.
 */
export function dropoutMask(size: number, rate: number, seed: number): Float32Array {
  return fillDropoutMask(new Float32Array(size), rate, seed);
}

/** dropoutMask's mask written into `mask` (its whole length), which it returns. */
function fillDropoutMask(mask: Float32Array, rate: number, seed: number): Float32Array {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: the rate must be in [0, 1), got ${rate}`);
  const size = mask.length;
  mask.fill(1 / (1 - rate));
  if (rate === 0) return mask;
  const rng = new Rng(mixSeed(seed));
  const logKeep = Math.log1p(-rate);
  // 1 − next() is in (0, 1]: a gap of 0 (the next element dropped) when it is above 1 − rate.
  const gap = () => Math.floor(Math.log(1 - rng.next()) / logKeep);
  for (let i = gap(); i < size; i += 1 + gap()) mask[i] = 0;
  return mask;
}

/**
 * x · mask with the mask of dropoutMask, of shape `maskShape` (x's shape, or 1 on the axes whose elements are
 * dropped together: [B, 1, 1, C] drops whole channels). Without a seed a mask is drawn from a random one, as
 * tf.dropout does without one.
 */
export function applyDropout<T extends tf.Tensor>(x: T, rate: number, seed: number | undefined, maskShape: number[] = x.shape): T {
  if (rate <= 0) return x;
  const maskSeed = seed ?? Math.floor(Math.random() * 2 ** 32);
  const op = tf.customGrad((xIn, save) => {
    // Drawn straight into the tensor's memory (on wasm, its heap): no array of its own to copy in and collect.
    const mask = filledFloat32(maskShape, (values) => fillDropoutMask(values, rate, maskSeed));
    (save as tf.GradSaveFunc)([mask]);
    return { value: tf.mul(xIn as tf.Tensor, mask), gradFunc: (dy, [m]) => tf.mul(dy, m) };
  });
  return op(x) as T;
}
