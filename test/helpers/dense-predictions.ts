// What a test compares a segmentation or detection prediction with: a generated photo that is neither square nor a
// network's size, and the network's own outputs for it, computed here with TF.js (the logits upsampled by
// tf.image.resizeBilinear with half-pixel centres, then argmax; the detector's post-processing), not by the code
// under test.
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { openRgb, toRgb, type RgbImage } from '../../src/data/decode.ts';
import { resizeBilinear } from '../../src/data/segmentation-augment.ts';
import { postprocess, SSD_POSTPROCESS, type Detections } from '../../src/model/detection-postprocess.ts';
import type { DetectionModel } from '../../src/model/detection.ts';
import type { SegmentationModel } from '../../src/model/segmentation.ts';
import { Rng } from '../../src/util/random.ts';

/** Writes a `width` × `height` PNG of colour gradients with noise and a bright corner (regions a network splits) and decodes it. */
export async function writePhoto(path: string, width: number, height: number, seed = 3): Promise<RgbImage> {
  const rng = new Rng(seed);
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      data[i] = Math.min(255, (x * 255) / width + rng.next() * 40);
      data[i + 1] = Math.min(255, (y * 255) / height + rng.next() * 40);
      data[i + 2] = x > width / 2 && y > height / 2 ? 230 : 20;
    }
  }
  writeFileSync(path, await sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer());
  return toRgb(openRgb(path), path);
}

/** The photo as the network sees it: resized whole to size × size, RGB in [0, 1]. */
async function input(image: RgbImage, size: number): Promise<tf.Tensor4D> {
  const resized = await resizeBilinear(image, size, size);
  return tf.tensor4d(Float32Array.from(resized.data, (v) => v / 255), [1, size, size, 3]);
}

/** The class of every pixel of `image`: the logits at `size` upsampled to the image's size (align_corners false), argmax. */
export async function referenceClassMap(model: SegmentationModel, image: RgbImage, size: number): Promise<Uint8Array> {
  const x = await input(image, size);
  const map = tf.tidy(() => tf.argMax(tf.image.resizeBilinear(model.forward(x), [image.height, image.width], false, true), 3));
  const data = Uint8Array.from(await map.data());
  tf.dispose([x, map]);
  return data;
}

/** The detector's post-processed detections at `size` above `scoreThreshold`, boxes normalised. */
export async function referenceDetections(model: DetectionModel, image: RgbImage, size: number, scoreThreshold: number): Promise<Detections> {
  const x = await input(image, size);
  const o = model.forward(x);
  const found = postprocess(await o.classLogits.data(), await o.boxDeltas.data(), o.anchors, model.numClasses, { ...SSD_POSTPROCESS, scoreThreshold });
  tf.dispose([x, o.boxDeltas, o.classLogits]);
  return found;
}
