// Training augmentation as in the reference recipe (ml-cvnets / timm for MobileViT): random-resized crop and a
// horizontal flip, plus an optional colour jitter and an optional RandAugment (timm's rand-m9-mstd0.5, applied
// where timm applies it: on the cropped and flipped pixels), both off by default. Every random choice for an
// image comes from a stream seeded by (run seed, epoch, image index), so an epoch's augmented pixels are
// reproducible and do not depend on how images were grouped into batches or on the batch's resolution.
import sharp from 'sharp';
import { fromRgb, type RgbImage } from './decode.ts';
import type { Jitter } from './pixels.ts';
import { applyRandAugment, drawRandAugment, type RandAugmentStep } from './randaugment.ts';
import { Rng, mixSeed } from '../util/random.ts';

export interface AugmentConfig {
  /** Area fraction of the crop, drawn uniformly. The reference uses (0.08, 1); small datasets often do better
   *  with a gentler (0.25, 1), since a crop of 8% of a photo rarely shows the object. */
  scale: [number, number];
  /** Aspect ratio range of the crop, drawn log-uniformly. */
  ratio: [number, number];
  /** Probability of a horizontal flip. */
  hflip: number;
  /** Colour jitter strength s: brightness, contrast and saturation factors drawn from [1-s, 1+s]; 0 is off. */
  colorJitter: number;
  /** timm's RandAugment rand-m9-mstd0.5 on the cropped, flipped pixels (data/randaugment.ts). */
  randAugment: boolean;
}

export const DEFAULT_AUGMENT: AugmentConfig = { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], hflip: 0.5, colorJitter: 0, randAugment: false };

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The random choices for one image in one epoch. */
export interface ImageAugmentation {
  crop: CropBox;
  flip: boolean;
  jitter: Jitter | null;
  /** The RandAugment ops applied, in order; empty when it is off or every drawn op was skipped. */
  randAugment: RandAugmentStep[];
}

export function validateAugment(cfg: AugmentConfig): void {
  const [s0, s1] = cfg.scale;
  const [r0, r1] = cfg.ratio;
  if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) throw new Error(`augment scale must satisfy 0 < min <= max <= 1, got [${s0}, ${s1}]`);
  if (!(r0 > 0 && r0 <= r1)) throw new Error(`augment ratio must satisfy 0 < min <= max, got [${r0}, ${r1}]`);
  if (!(cfg.hflip >= 0 && cfg.hflip <= 1)) throw new Error(`augment hflip must be a probability, got ${cfg.hflip}`);
  if (!(cfg.colorJitter >= 0 && cfg.colorJitter < 1)) throw new Error(`augment colorJitter must be in [0, 1), got ${cfg.colorJitter}`);
}

/**
 * A random-resized crop box: up to ten tries at a box with a random area fraction and log-uniform aspect ratio
 * that fits in the image, then the centred box of the largest area whose ratio is clamped to the range (the same
 * procedure torchvision and ml-cvnets use).
 */
export function randomResizedCropBox(rng: Rng, width: number, height: number, scale: [number, number], ratio: [number, number]): CropBox {
  const area = width * height;
  const logR0 = Math.log(ratio[0]);
  const logR1 = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logR0, logR1));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { left: rng.int(0, width - w), top: rng.int(0, height - h), width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { left: (width - w) >> 1, top: (height - h) >> 1, width: w, height: h };
}

/** Draws the augmentation of image `index` in `epoch` for a source of the given size. */
export function drawAugmentation(cfg: AugmentConfig, seed: number, epoch: number, index: number, width: number, height: number): ImageAugmentation {
  const rng = new Rng(mixSeed(seed, epoch, index, 3));
  const crop = randomResizedCropBox(rng, width, height, cfg.scale, cfg.ratio);
  const flip = rng.next() < cfg.hflip;
  const s = cfg.colorJitter;
  const jitter = s > 0 ? { brightness: rng.uniform(1 - s, 1 + s), contrast: rng.uniform(1 - s, 1 + s), saturation: rng.uniform(1 - s, 1 + s) } : null;
  // Drawn last, so that turning RandAugment on leaves every other draw of the image as it was.
  const randAugment = cfg.randAugment ? drawRandAugment(rng) : [];
  return { crop, flip, jitter, randAugment };
}

/** Crops, resizes (bilinear, antialiased when shrinking, as the reference's PIL resize) and flips one image on
 *  sharp's thread pool. Returns `size * size * 3` bytes. */
export async function cropResizeFlip(img: RgbImage, size: number, aug: Pick<ImageAugmentation, 'crop' | 'flip'>): Promise<Uint8Array> {
  let p = fromRgb(img).extract(aug.crop).resize(size, size, { fit: 'fill', kernel: sharp.kernel.linear });
  if (aug.flip) p = p.flop();
  const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(`augmentation produced ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return data;
}

/** One training image's augmented bytes (`size * size * 3`): crop, resize and flip, then its RandAugment ops. The
 *  colour jitter, if any, is applied later, as the bytes become floats (data/pixels.ts). */
export async function augmentedPixels(img: RgbImage, size: number, aug: ImageAugmentation): Promise<Uint8Array> {
  const pixels = await cropResizeFlip(img, size, aug);
  return aug.randAugment.length === 0 ? pixels : applyRandAugment({ data: pixels, width: size, height: size }, aug.randAugment);
}
