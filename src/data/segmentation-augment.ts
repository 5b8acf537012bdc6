// Segmentation augmentation: the mask moves with the image. Training follows the DeepLabv3 recipe (as torchvision's
// segmentation reference and ml-cvnets train it): the shorter side is resized to `size` times a factor drawn from
// [0.5, 2.0] (relative to the output size, so a folder of 4000 px photos and one of 300 px images are cropped
// alike), a `size` × `size` crop is taken at a random place, and the result is flipped horizontally half the time.
// Where the scaled image is smaller than the crop, it is padded on the right and bottom: the image with a fixed
// fill, the mask with IGNORE_INDEX, so padding costs nothing in the loss. The image is resized bilinearly (sharp),
// the mask nearest-neighbour with the same pixel-centre mapping, so it never holds an interpolated class.
// Evaluation resizes both to `size` × `size` (no crop). Random choices come from a stream seeded by
// (run seed, epoch, image index), so a sample does not depend on batching.
import sharp from 'sharp';
import { IGNORE_INDEX } from '../util/mask-values.ts';
import { Rng, mixSeed } from '../util/random.ts';
import { readRegularFile } from '../util/read-file.ts';
import { fromRgb, openRgb, toRgb, type RgbImage } from './decode.ts';
import { decodeIndexMask, MaskError, type IndexMask } from './mask-png.ts';
import { MAX_MASK_BYTES } from './segmentation-scan.ts';

export interface SegmentationAugmentConfig {
  /** Factor range of the shorter side relative to the output size (DeepLabv3: [0.5, 2.0]). */
  scale: [number, number];
  /** Probability of a horizontal flip. */
  hflip: number;
}

export const DEFAULT_SEGMENTATION_AUGMENT: SegmentationAugmentConfig = { scale: [0.5, 2.0], hflip: 0.5 };

/** The image's value where a crop leaves the scaled image (black). */
export const SEGMENTATION_FILL = 0;

/** The largest output size (as the evaluation transform's). */
const MAX_SIZE = 4096;

/** Tag of the segmentation augmentation's random stream (classification's is 3). */
const STREAM_TAG = 0x5e9;

/** The random choices for one image in one epoch: the scaled size, where the crop starts in it, and the flip. */
export interface SegmentationAugmentation {
  scaled: { width: number; height: number };
  left: number;
  top: number;
  flip: boolean;
}

/** Labels per pixel of a sample, row-major; `pixels` are RGB bytes as the classification loader's. */
export interface SegmentationSample {
  pixels: Uint8Array;
  labels: Uint8Array;
}

export function validateSegmentationAugment(cfg: SegmentationAugmentConfig): void {
  const [s0, s1] = cfg.scale;
  if (!(s0 > 0 && s0 <= s1 && s1 <= 8)) throw new Error(`segmentation augment scale must satisfy 0 < min <= max <= 8, got [${s0}, ${s1}]`);
  if (!(cfg.hflip >= 0 && cfg.hflip <= 1)) throw new Error(`segmentation augment hflip must be a probability, got ${cfg.hflip}`);
}

function checkSize(size: number): void {
  if (!(Number.isInteger(size) && size > 0 && size <= MAX_SIZE)) throw new Error(`sample size must be an integer from 1 to ${MAX_SIZE}, got ${size}`);
}

/** Draws the augmentation of image `index` in `epoch` for a `width` × `height` source and a `size` output. */
export function drawSegmentationAugmentation(cfg: SegmentationAugmentConfig, seed: number, epoch: number, index: number, width: number, height: number, size: number): SegmentationAugmentation {
  checkSize(size);
  const rng = new Rng(mixSeed(seed, epoch, index, STREAM_TAG));
  const short = Math.max(1, Math.round(size * rng.uniform(cfg.scale[0], cfg.scale[1])));
  // The longer side keeps the aspect ratio; neither side drops below one pixel.
  const scaled = width <= height
    ? { width: short, height: Math.max(1, Math.round((short * height) / width)) }
    : { width: Math.max(1, Math.round((short * width) / height)), height: short };
  const left = rng.int(0, Math.max(0, scaled.width - size));
  const top = rng.int(0, Math.max(0, scaled.height - size));
  return { scaled, left, top, flip: rng.next() < cfg.hflip };
}

/** Nearest-neighbour resize of a mask, sampling the source at each output pixel's centre (as PIL's NEAREST). */
export function resizeMaskNearest(mask: IndexMask, width: number, height: number): IndexMask {
  const data = new Uint8Array(width * height);
  const xs = Int32Array.from({ length: width }, (_, x) => Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width)));
  for (let y = 0; y < height; y++) {
    const row = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height)) * mask.width;
    for (let x = 0; x < width; x++) data[y * width + x] = mask.data[row + xs[x]];
  }
  return { width, height, data };
}

/**
 * The `size` × `size` window at (left, top) of a `width` × `height` raster with `channels` bytes a pixel; what
 * falls outside the raster is `fill`; mirrored left-right when `flip`.
 */
function cropPadFlip(src: Uint8Array, width: number, height: number, channels: number, left: number, top: number, size: number, fill: number, flip: boolean): Uint8Array {
  const out = new Uint8Array(size * size * channels).fill(fill);
  const cols = Math.max(0, Math.min(size, width - left));
  for (let y = 0; y < Math.min(size, height - top); y++) {
    const from = ((top + y) * width + left) * channels;
    const to = y * size * channels;
    if (!flip) {
      out.set(src.subarray(from, from + cols * channels), to);
      continue;
    }
    for (let x = 0; x < cols; x++) {
      const o = to + (size - 1 - x) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = src[from + x * channels + c];
    }
  }
  return out;
}

/** The image resized bilinearly (sharp's linear kernel): the evaluation resize, which predictions reuse. */
export async function resizeBilinear(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (img.width === width && img.height === height) return img;
  return toRgb(fromRgb(img).resize(width, height, { fit: 'fill', kernel: sharp.kernel.linear }), 'segmentation sample');
}

function checkPair(image: RgbImage, mask: IndexMask, imageName: string, maskName: string): void {
  if (image.width !== mask.width || image.height !== mask.height || mask.data.length !== mask.width * mask.height) {
    throw new MaskError(maskName, `mask is ${mask.width}×${mask.height} but its image ${imageName} is ${image.width}×${image.height}`);
  }
}

/** Applies a drawn augmentation to an image and its mask (same size). */
export async function augmentSegmentation(image: RgbImage, mask: IndexMask, size: number, aug: SegmentationAugmentation, names = { image: 'image', mask: 'mask' }): Promise<SegmentationSample> {
  checkSize(size);
  checkPair(image, mask, names.image, names.mask);
  const { width, height } = aug.scaled;
  const scaledImage = await resizeBilinear(image, width, height);
  const scaledMask = resizeMaskNearest(mask, width, height);
  return {
    pixels: cropPadFlip(scaledImage.data, width, height, 3, aug.left, aug.top, size, SEGMENTATION_FILL, aug.flip),
    labels: cropPadFlip(scaledMask.data, width, height, 1, aug.left, aug.top, size, IGNORE_INDEX, aug.flip),
  };
}

/** The evaluation transform: image (bilinear) and mask (nearest) resized to `size` × `size`. */
export async function segmentationEvalTransform(image: RgbImage, mask: IndexMask, size: number, names = { image: 'image', mask: 'mask' }): Promise<SegmentationSample> {
  checkSize(size);
  checkPair(image, mask, names.image, names.mask);
  return { pixels: (await resizeBilinear(image, size, size)).data, labels: resizeMaskNearest(mask, size, size).data };
}

/** Decodes an image and its mask; one error naming both files when their sizes differ. */
export async function readMaskPair(pair: { image: string; mask: string }): Promise<{ image: RgbImage; mask: IndexMask }> {
  const image = await toRgb(openRgb(pair.image), pair.image);
  const mask = decodeIndexMask(readRegularFile(pair.mask, { maxBytes: MAX_MASK_BYTES, what: 'mask' }), pair.mask);
  checkPair(image, mask, pair.image, pair.mask);
  return { image, mask };
}

/** A training sample of image `index` in `epoch`: decode, draw, augment. */
export async function segmentationTrainSample(pair: { image: string; mask: string }, cfg: SegmentationAugmentConfig, seed: number, epoch: number, index: number, size: number): Promise<SegmentationSample> {
  const { image, mask } = await readMaskPair(pair);
  const aug = drawSegmentationAugmentation(cfg, seed, epoch, index, image.width, image.height, size);
  return augmentSegmentation(image, mask, size, aug, pair);
}
