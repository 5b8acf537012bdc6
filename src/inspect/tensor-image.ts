// Images as tensors for inspection and profiling, free of file decoding, so a device page bundles them.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/random.ts';
import type { RgbImage } from './overlay.ts';

/** A reproducible size × size test image with 8-bit-like values k/255. */
export function randomImage(size: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const data = Float32Array.from({ length: size * size * 3 }, () => Math.floor(rng.next() * 256) / 255);
  return { data, height: size, width: size };
}

/** [1, height, width, 3]. */
export function imageTensor(img: RgbImage): tf.Tensor4D {
  return tf.tensor4d(img.data, [1, img.height, img.width, 3]);
}
