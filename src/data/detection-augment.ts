// Detection augmentation: the boxes move with the pixels. Training applies, in ml-cvnets v0.1's order:
// 1. SSD's random crop (the SSD paper; ml-cvnets' SSDCroping): draw a minimum IoU from {none, 0.1, 0.3, 0.5, 0.7,
//    0.9}; "none" keeps the whole image; otherwise up to 50 trials of a window whose sides are [0.3, 1] of the
//    image's and whose height/width ratio is in [0.5, 2], accepted when some box overlaps it with at least that IoU
//    (the original Caffe SSD's rule) and some box's centre lies inside it; when every trial fails another minimum
//    is drawn. Boxes are clipped to the window; those whose centre leaves it are dropped, crowd regions included.
//    An image without boxes is not cropped.
// 2. Photometric distortion (SSD's, simplified: no channel swap): each with probability 0.5, brightness (add
//    [-32, 32] to every byte), contrast (multiply by [0.5, 1.5]), saturation (multiply HSV saturation by
//    [0.5, 1.5]) and hue (shift by [-18°, 18°]); contrast goes either before saturation and hue or after them, by a
//    coin, as SSD does. It is applied at the output size: per-pixel operations commute with the resize up to rounding.
// 3. Horizontal flip (boxes mirrored), then the resize to size × size (bilinear, ignoring the aspect ratio).
// Boxes come out as normalised corners (x0, y0, x1, y1) with their 1-based labels, as matchAnchors takes them.
// Evaluation resizes only. Random choices come from a stream seeded by (run seed, epoch, image index).
import { cropResizeFlip, type CropBox } from './augment.ts';
import { ImageReadError, openRgb, toRgb, type RgbImage } from './decode.ts';
import type { DetectionImage } from './detection-scan.ts';
import { Rng, mixSeed } from '../util/random.ts';

export interface DetectionAugmentConfig {
  /** Probability of a horizontal flip. */
  hflip: number;
  /** SSD's random crop on or off. */
  crop: boolean;
  /** SSD's photometric distortion on or off. */
  photometric: boolean;
}

export const DEFAULT_DETECTION_AUGMENT: DetectionAugmentConfig = { hflip: 0.5, crop: true, photometric: true };

/** The minimum IoUs SSD's crop draws from; null keeps the whole image. */
export const SSD_MIN_IOUS: readonly (number | null)[] = [null, 0.1, 0.3, 0.5, 0.7, 0.9];
export const SSD_CROP = { trials: 50, sideFraction: [0.3, 1], aspect: [0.5, 2] } as const;
/** Minimum-IoU draws before giving up on cropping (each has a 1/6 chance of "none": (5/6)^100 ≈ 1e-8). */
const MAX_MODE_DRAWS = 100;

const MAX_SIZE = 4096;
/** Tag of the detection augmentation's random stream (classification's is 3). */
const STREAM_TAG = 0xde7;

/** The photometric factors drawn for one image; null where that step is skipped. */
export interface Photometric {
  /** Added to every byte. */
  brightness: number | null;
  /** Every byte multiplied by it. */
  contrast: number | null;
  /** HSV saturation multiplied by it. */
  saturation: number | null;
  /** Degrees added to the HSV hue. */
  hue: number | null;
  contrastFirst: boolean;
}

export interface DetectionAugmentation {
  crop: CropBox;
  flip: boolean;
  photometric: Photometric | null;
}

export interface DetectionSample {
  /** size × size × 3 RGB bytes, as the classification loader's. */
  pixels: Uint8Array;
  /** [N·4] normalised corners (x0, y0, x1, y1). */
  boxes: Float32Array;
  /** [N] 1-based classes. */
  labels: Int32Array;
  /** [N] 1 for crowd regions (excluded from training, kept for evaluation). */
  crowd: Uint8Array;
}

/** A box as pixel corners. */
type Corners = [number, number, number, number];

export function validateDetectionAugment(cfg: DetectionAugmentConfig): void {
  if (!(cfg.hflip >= 0 && cfg.hflip <= 1)) throw new Error(`detection augment hflip must be a probability, got ${cfg.hflip}`);
}

function checkSize(size: number): void {
  if (!(Number.isInteger(size) && size > 0 && size <= MAX_SIZE)) throw new Error(`sample size must be an integer from 1 to ${MAX_SIZE}, got ${size}`);
}

function cornersOf(image: DetectionImage): Corners[] {
  return image.boxes.map(({ box: [x, y, w, h] }) => [x, y, x + w, y + h]);
}

function iou(a: Corners, b: Corners): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

function centreInside(b: Corners, c: CropBox): boolean {
  const cx = (b[0] + b[2]) / 2;
  const cy = (b[1] + b[3]) / 2;
  return cx > c.left && cx < c.left + c.width && cy > c.top && cy < c.top + c.height;
}

/** SSD's random crop window for a `width` × `height` image holding `boxes`; the whole image when "none" is drawn. */
export function sampleSsdCrop(rng: Rng, width: number, height: number, boxes: Corners[]): CropBox {
  const whole = { left: 0, top: 0, width, height };
  if (boxes.length === 0) return whole;
  const [f0, f1] = SSD_CROP.sideFraction;
  for (let draw = 0; draw < MAX_MODE_DRAWS; draw++) {
    const minIou = SSD_MIN_IOUS[rng.int(0, SSD_MIN_IOUS.length - 1)];
    if (minIou === null) return whole;
    for (let trial = 0; trial < SSD_CROP.trials; trial++) {
      const w = Math.max(1, Math.trunc(rng.uniform(f0 * width, f1 * width)));
      const h = Math.max(1, Math.trunc(rng.uniform(f0 * height, f1 * height)));
      const left = Math.trunc(rng.uniform(0, width - w));
      const top = Math.trunc(rng.uniform(0, height - h));
      if (h / w < SSD_CROP.aspect[0] || h / w > SSD_CROP.aspect[1]) continue;
      const crop = { left, top, width: w, height: h };
      const window: Corners = [left, top, left + w, top + h];
      if (!boxes.some((b) => iou(b, window) >= minIou) || !boxes.some((b) => centreInside(b, crop))) continue;
      return crop;
    }
  }
  return whole;
}

/** The boxes whose centre lies inside `crop`, clipped to it and in its coordinates; `kept` are their indices. */
export function boxesInCrop(boxes: Corners[], crop: CropBox): { kept: number[]; boxes: Corners[] } {
  const kept: number[] = [];
  const out: Corners[] = [];
  boxes.forEach((b, i) => {
    if (!centreInside(b, crop)) return;
    kept.push(i);
    out.push([
      Math.max(b[0], crop.left) - crop.left, Math.max(b[1], crop.top) - crop.top,
      Math.min(b[2], crop.left + crop.width) - crop.left, Math.min(b[3], crop.top + crop.height) - crop.top,
    ]);
  });
  return { kept, boxes: out };
}

function drawPhotometric(rng: Rng): Photometric {
  const maybe = (lo: number, hi: number): number | null => {
    const on = rng.next() < 0.5;
    const v = rng.uniform(lo, hi); // drawn either way, so each step uses the same draws whatever the coins say
    return on ? v : null;
  };
  return { brightness: maybe(-32, 32), contrast: maybe(0.5, 1.5), saturation: maybe(0.5, 1.5), hue: maybe(-18, 18), contrastFirst: rng.next() < 0.5 };
}

/** Draws the augmentation of `image` (its index in the dataset is `index`) in `epoch`. */
export function drawDetectionAugmentation(cfg: DetectionAugmentConfig, seed: number, epoch: number, index: number, image: DetectionImage): DetectionAugmentation {
  const rng = new Rng(mixSeed(seed, epoch, index, STREAM_TAG));
  const crop = cfg.crop ? sampleSsdCrop(rng, image.width, image.height, cornersOf(image)) : { left: 0, top: 0, width: image.width, height: image.height };
  const flip = rng.next() < cfg.hflip;
  return { crop, flip, photometric: cfg.photometric ? drawPhotometric(rng) : null };
}

const clampByte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Saturation and hue in HSV for one pixel of floats in [0, 255], written back at `i`. */
function shiftHsv(px: Float32Array, i: number, saturation: number, hue: number): void {
  const [r, g, b] = [px[i], px[i + 1], px[i + 2]];
  const max = Math.max(r, g, b);
  const delta = max - Math.min(r, g, b);
  if (delta === 0) return; // grey: no hue, no saturation to scale
  let h = max === r ? ((g - b) / delta) % 6 : max === g ? (b - r) / delta + 2 : (r - g) / delta + 4;
  h = (((h * 60 + hue) % 360) + 360) % 360;
  const s = Math.min(1, (delta / max) * saturation);
  const c = max * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = max - c;
  const sector = Math.floor(h / 60);
  const [r1, g1, b1] = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]][sector];
  px[i] = r1 + m;
  px[i + 1] = g1 + m;
  px[i + 2] = b1 + m;
}

/** Applies the photometric distortion to RGB bytes in place (clamped after each step, rounded at the end). */
export function applyPhotometric(pixels: Uint8Array, p: Photometric): void {
  const px = Float32Array.from(pixels);
  const contrast = () => { if (p.contrast !== null) for (let i = 0; i < px.length; i++) px[i] = clampByte(px[i] * p.contrast); };
  if (p.brightness !== null) for (let i = 0; i < px.length; i++) px[i] = clampByte(px[i] + p.brightness);
  if (p.contrastFirst) contrast();
  if (p.saturation !== null || p.hue !== null) {
    for (let i = 0; i < px.length; i += 3) shiftHsv(px, i, p.saturation ?? 1, p.hue ?? 0);
  }
  if (!p.contrastFirst) contrast();
  for (let i = 0; i < px.length; i++) pixels[i] = Math.round(clampByte(px[i]));
}

function checkDecoded(rgb: RgbImage, image: DetectionImage): void {
  if (rgb.width !== image.width || rgb.height !== image.height) {
    throw new ImageReadError(image.image, `decoded as ${rgb.width}×${rgb.height}, but its labels were made for ${image.width}×${image.height}`);
  }
}

/** Applies a drawn augmentation to the decoded pixels of `image` and its boxes. */
export async function augmentDetection(rgb: RgbImage, image: DetectionImage, size: number, aug: DetectionAugmentation): Promise<DetectionSample> {
  checkSize(size);
  checkDecoded(rgb, image);
  const { crop, flip } = aug;
  const { kept, boxes } = boxesInCrop(cornersOf(image), crop);
  const out = new Float32Array(kept.length * 4);
  boxes.forEach(([x0, y0, x1, y1], k) => {
    const [nx0, nx1] = [x0 / crop.width, x1 / crop.width];
    out.set([flip ? 1 - nx1 : nx0, y0 / crop.height, flip ? 1 - nx0 : nx1, y1 / crop.height], 4 * k);
  });
  const pixels = await cropResizeFlip(rgb, size, { crop, flip });
  if (aug.photometric) applyPhotometric(pixels, aug.photometric);
  return {
    pixels,
    boxes: out,
    labels: Int32Array.from(kept, (i) => image.boxes[i].label),
    crowd: Uint8Array.from(kept, (i) => (image.boxes[i].crowd ? 1 : 0)),
  };
}

/** The evaluation transform: resize to size × size, boxes normalised. */
export function detectionEvalTransform(rgb: RgbImage, image: DetectionImage, size: number): Promise<DetectionSample> {
  return augmentDetection(rgb, image, size, { crop: { left: 0, top: 0, width: image.width, height: image.height }, flip: false, photometric: null });
}

/** Decodes an image of a detection dataset; an error naming the file when it is not the size its labels were made for. */
export async function readDetectionImage(image: DetectionImage): Promise<RgbImage> {
  const rgb = await toRgb(openRgb(image.image), image.image);
  checkDecoded(rgb, image);
  return rgb;
}

/** A training sample of image `index` in `epoch`: decode, draw, augment. */
export async function detectionTrainSample(image: DetectionImage, cfg: DetectionAugmentConfig, seed: number, epoch: number, index: number, size: number): Promise<DetectionSample> {
  const rgb = await readDetectionImage(image);
  return augmentDetection(rgb, image, size, drawDetectionAugmentation(cfg, seed, epoch, index, image));
}
