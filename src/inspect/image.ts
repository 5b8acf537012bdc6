// The input image of an inspection, kept as floats (height × width × 3 in [0, 1]) so that the overlays
// are drawn over exactly the pixels the model saw.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/random.ts';
import { decodeForEval } from '../data/eval-transform.ts';
import type { RgbImage } from './overlay.ts';

/**
 * A file through the evaluation transform (resize the shorter side, centre crop to size × size); `crop` is
 * the centre fraction kept (a run's recorded evaluation crop; default the reference 0.9).
 */
export async function loadImage(file: string, size: number, crop?: number | null): Promise<RgbImage> {
  const img = await decodeForEval(file, size, crop ?? undefined);
  return { data: img.data, height: img.height, width: img.width };
}

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
