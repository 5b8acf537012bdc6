// RandAugment as timm's `--aa rand-m9-mstd0.5` (timm/data/auto_augment.py: rand_augment_transform, RandAugment,
// AugmentOp): two ops per image, each drawn uniformly from fifteen (with replacement) and applied with probability
// 0.5, at magnitude 9 of 10 with Gaussian noise of std 0.5, clipped to [0, 10]. The ops are PIL's, and each is
// written here with PIL's integer and float32 arithmetic (Pillow 9.4's ImageOps, ImageEnhance, Image.blend,
// ImageFilter.SMOOTH and the affine transform) so that the studio's pixels are the ones timm would feed its model;
// test/fixtures/randaugment holds PIL's outputs and the script that made them.
// The draws come from the image's own stream (data/augment.ts), so an augmented image is a pure function of
// (seed, epoch, position), like the crop and flip before it.
import type { Rng } from '../util/random.ts';
import type { RgbImage } from './decode.ts';

/** timm's _RAND_TRANSFORMS, in its order. */
export const RAND_AUGMENT_OPS = [
  'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'Solarize', 'SolarizeAdd',
  'Color', 'Contrast', 'Brightness', 'Sharpness', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel',
] as const;
export type RandAugmentOp = (typeof RAND_AUGMENT_OPS)[number];

export interface RandAugmentPolicy {
  /** Ops drawn per image ('n'). */
  layers: number;
  /** Mean magnitude ('m'), on timm's scale of 0..10. */
  magnitude: number;
  /** Std of the Gaussian noise on the magnitude ('mstd'). */
  magnitudeStd: number;
  /** Probability that a drawn op is applied (rand_augment_ops' prob). */
  prob: number;
}

/** `rand-m9-mstd0.5`, the policy the studio's timm recipe asks for (`--aa`), as in timm's ImageNet recipes. */
export const RAND_M9_MSTD05: RandAugmentPolicy = { layers: 2, magnitude: 9, magnitudeStd: 0.5, prob: 0.5 };

/** timm's _LEVEL_DENOM: magnitudes are clipped to [0, 10] and divided by it. */
const LEVEL_DENOM = 10;
/** timm's default translate_pct for TranslateXRel/YRel. */
const TRANSLATE_PCT = 0.45;

/**
 * The fill of the pixels the geometric ops uncover: timm's img_mean, round(255 * mean) of the model's
 * normalisation. The studio feeds unnormalised pixels (mean 0, as timm's MobileViT config and the studio's timm
 * recipe say), so it is black.
 */
export const RAND_AUGMENT_FILL: Rgb = [0, 0, 0];

export type Rgb = readonly [number, number, number];

/** One applied op: its magnitude after the noise and the argument timm's level function makes of it. */
export interface RandAugmentStep {
  op: RandAugmentOp;
  magnitude: number;
  /** Degrees (Rotate), bits kept (Posterize), threshold (Solarize), addend (SolarizeAdd), blend factor (Color,
   *  Contrast, Brightness, Sharpness), shear factor, or translation as a fraction of the side; 0 when unused. */
  arg: number;
}

/** A normal draw (Box–Muller; 1 − u keeps the logarithm finite). */
function gaussian(rng: Rng, mean: number, std: number): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** timm's _randomly_negate: negative when a draw exceeds 0.5. */
const randomlyNegate = (rng: Rng, v: number): number => (rng.next() > 0.5 ? -v : v);

/** timm's LEVEL_TO_ARG for the RandAugment ops (level = magnitude / 10). */
function levelToArg(op: RandAugmentOp, magnitude: number, rng: Rng): number {
  const level = magnitude / LEVEL_DENOM;
  switch (op) {
    case 'Rotate': return randomlyNegate(rng, level * 30);
    case 'Posterize': return Math.trunc(level * 4);
    case 'Solarize': return Math.trunc(level * 256);
    case 'SolarizeAdd': return Math.trunc(level * 110);
    case 'Color': case 'Contrast': case 'Brightness': case 'Sharpness': return level * 1.8 + 0.1;
    case 'ShearX': case 'ShearY': return randomlyNegate(rng, level * 0.3);
    case 'TranslateXRel': case 'TranslateYRel': return randomlyNegate(rng, level * TRANSLATE_PCT);
    case 'AutoContrast': case 'Equalize': case 'Invert': return 0;
  }
}

/** The ops applied to one image, in order (skipped draws left out), as timm's RandAugment.__call__ draws them. */
export function drawRandAugment(rng: Rng, policy: RandAugmentPolicy = RAND_M9_MSTD05): RandAugmentStep[] {
  const steps: RandAugmentStep[] = [];
  for (let i = 0; i < policy.layers; i++) {
    const op = RAND_AUGMENT_OPS[rng.int(0, RAND_AUGMENT_OPS.length - 1)];
    if (rng.next() > policy.prob) continue;
    const noisy = policy.magnitudeStd > 0 ? gaussian(rng, policy.magnitude, policy.magnitudeStd) : policy.magnitude;
    const magnitude = Math.max(0, Math.min(noisy, LEVEL_DENOM));
    steps.push({ op, magnitude, arg: levelToArg(op, magnitude, rng) });
  }
  return steps;
}

/** Applies `steps` in order; returns new bytes (the input is not changed). */
export function applyRandAugment(img: RgbImage, steps: readonly RandAugmentStep[], fill: Rgb = RAND_AUGMENT_FILL): Uint8Array {
  let data = img.data;
  for (const step of steps) data = applyOp({ ...img, data }, step.op, step.arg, fill);
  return data === img.data ? data.slice() : data;
}

/** One op with its argument, as timm calls PIL for it. The geometric ones resample bilinearly, as the studio's crop
 *  does (timm takes its configured train interpolation; with 'random' it picks bilinear or bicubic per op). */
export function applyOp(img: RgbImage, op: RandAugmentOp, arg: number, fill: Rgb = RAND_AUGMENT_FILL): Uint8Array {
  const { data, width: w, height: h } = img;
  switch (op) {
    case 'AutoContrast': return mapChannels(data, channelHistograms(data).map(autoContrastLut));
    case 'Equalize': return mapChannels(data, channelHistograms(data).map(equalizeLut));
    case 'Invert': return sameLut(data, (v) => 255 - v);
    case 'Posterize': {
      if (arg >= 8) return data.slice();
      const mask = ~((1 << (8 - arg)) - 1) & 0xff;
      return sameLut(data, (v) => v & mask);
    }
    case 'Solarize': return sameLut(data, (v) => (v < arg ? v : 255 - v));
    case 'SolarizeAdd': return sameLut(data, (v) => (v < 128 ? Math.min(255, v + arg) : v));
    case 'Color': return blend(greyRgb(data), data, arg);
    case 'Contrast': return blend(new Uint8Array(data.length).fill(meanGrey(data)), data, arg);
    case 'Brightness': return blend(new Uint8Array(data.length), data, arg);
    case 'Sharpness': return blend(smooth(data, w, h), data, arg);
    case 'Rotate': return affine(img, rotationMatrix(arg, w, h), fill);
    case 'ShearX': return affine(img, [1, arg, 0, 0, 1, 0], fill);
    case 'ShearY': return affine(img, [1, 0, 0, arg, 1, 0], fill);
    case 'TranslateXRel': return affine(img, [1, 0, arg * w, 0, 1, 0], fill);
    case 'TranslateYRel': return affine(img, [1, 0, 0, 0, 1, arg * h], fill);
  }
}

// ---- point ops (ImageOps) ----

function channelHistograms(data: Uint8Array): Int32Array[] {
  const hists = [new Int32Array(256), new Int32Array(256), new Int32Array(256)];
  for (let i = 0; i < data.length; i += 3) {
    hists[0][data[i]]++;
    hists[1][data[i + 1]]++;
    hists[2][data[i + 2]]++;
  }
  return hists;
}

function mapChannels(data: Uint8Array, luts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 3) {
    out[i] = luts[0][data[i]];
    out[i + 1] = luts[1][data[i + 1]];
    out[i + 2] = luts[2][data[i + 2]];
  }
  return out;
}

function sameLut(data: Uint8Array, f: (v: number) => number): Uint8Array {
  const lut = Uint8Array.from({ length: 256 }, (_, v) => f(v));
  return mapChannels(data, [lut, lut, lut]);
}

/** ImageOps.autocontrast(cutoff=0): each channel's lowest and highest values stretched to 0 and 255. */
function autoContrastLut(hist: Int32Array): Uint8Array {
  let lo = 0;
  while (lo < 255 && hist[lo] === 0) lo++;
  let hi = 255;
  while (hi > 0 && hist[hi] === 0) hi--;
  if (hi <= lo) return Uint8Array.from({ length: 256 }, (_, v) => v);
  const scale = 255 / (hi - lo);
  const offset = -lo * scale;
  return Uint8Array.from({ length: 256 }, (_, v) => Math.min(255, Math.max(0, Math.trunc(v * scale + offset))));
}

/** ImageOps.equalize: a cumulative histogram that leaves out the highest value's count, in steps of 1/256 of it. */
function equalizeLut(hist: Int32Array): Uint8Array {
  let present = 0;
  let total = 0;
  let last = 0;
  for (let v = 0; v < 256; v++) {
    if (hist[v] === 0) continue;
    present++;
    total += hist[v];
    last = hist[v];
  }
  const step = Math.floor((total - last) / 256);
  if (present <= 1 || step === 0) return Uint8Array.from({ length: 256 }, (_, v) => v);
  const lut = new Uint8Array(256);
  let n = Math.floor(step / 2);
  for (let v = 0; v < 256; v++) {
    lut[v] = Math.min(255, Math.floor(n / step)); // PIL clips a table entry above 255 when it applies the table
    n += hist[v];
  }
  return lut;
}

// ---- blends (ImageEnhance: Image.blend(degenerate, image, factor)) ----

/**
 * Image.blend in float32: degenerate + factor · (image − degenerate), truncated to a byte; clipped first when the
 * factor extrapolates (outside [0, 1]), as Pillow's ImagingBlend.
 */
function blend(degenerate: Uint8Array, data: Uint8Array, factor: number): Uint8Array {
  const alpha = Math.fround(factor);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.fround(degenerate[i] + Math.fround(alpha * (data[i] - degenerate[i])));
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
  }
  return out;
}

/** PIL's RGB → L: ITU-R 601 luma in 16-bit fixed point, rounded. */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/** ImageEnhance.Color's degenerate: the image in grey (convert('L').convert('RGB')). */
function greyRgb(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 3) out.fill(luma(data[i], data[i + 1], data[i + 2]), i, i + 3);
  return out;
}

/** ImageEnhance.Contrast's degenerate grey: the mean of the L image, rounded half up. */
function meanGrey(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 3) sum += luma(data[i], data[i + 1], data[i + 2]);
  return Math.trunc(sum / (data.length / 3) + 0.5);
}

/** ImageFilter.SMOOTH's weights, 1 around 5, over 13, as Pillow stores them (float32). */
const SMOOTH_EDGE = Math.fround(1 / 13);
const SMOOTH_CENTRE = Math.fround(5 / 13);

/**
 * ImageFilter.SMOOTH (ImageEnhance.Sharpness's degenerate) as Pillow's 3×3 filter runs it: float32 sums row by
 * row (the row below, the row, the row above), rounded to a byte; the outermost rows and columns are copied.
 */
function smooth(data: Uint8Array, w: number, h: number): Uint8Array {
  const out = data.slice();
  const f = Math.fround;
  const row3 = (i: number, mid: number) => f(f(f(data[i - 3] * SMOOTH_EDGE) + f(data[i] * mid)) + f(data[i + 3] * SMOOTH_EDGE));
  const stride = w * 3;
  for (let y = 1; y < h - 1; y++) {
    for (let i = y * stride + 3; i < (y + 1) * stride - 3; i++) {
      let ss = f(row3(i + stride, SMOOTH_EDGE));
      ss = f(ss + row3(i, SMOOTH_CENTRE));
      ss = f(ss + row3(i - stride, SMOOTH_EDGE));
      out[i] = ss <= 0 ? 0 : ss >= 255 ? 255 : Math.trunc(ss + 0.5);
    }
  }
  return out;
}

// ---- geometric ops (Image.transform AFFINE / Image.rotate, bilinear, with a fill colour) ----

type Affine = [number, number, number, number, number, number];

/** Image.rotate's matrix (about the centre, no expand): output → input, entries rounded to 15 decimals as PIL does. */
function rotationMatrix(degrees: number, w: number, h: number): Affine {
  let angle = degrees % 360;
  if (angle < 0) angle += 360; // Python's modulo
  const rad = -(angle * (Math.PI / 180));
  const round15 = (v: number) => Number(v.toFixed(15));
  const [a, b, d, e] = [round15(Math.cos(rad)), round15(Math.sin(rad)), round15(-Math.sin(rad)), round15(Math.cos(rad))];
  const cx = w / 2;
  const cy = h / 2;
  return [a, b, a * -cx + b * -cy + 0 + cx, d, e, d * -cx + e * -cy + 0 + cy];
}

/**
 * Pillow's affine transform with its bilinear filter: each output pixel's centre mapped into the input; outside
 * [0, w) × [0, h) it keeps the fill, inside it interpolates the four nearest pixels (edges clamped) in doubles and
 * truncates to a byte.
 */
function affine(img: RgbImage, m: Affine, fill: Rgb): Uint8Array {
  const { data, width: w, height: h } = img;
  const out = new Uint8Array(data.length);
  const [a0, a1, a2, a3, a4, a5] = m;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const xin = a0 * (x + 0.5) + a1 * (y + 0.5) + a2;
      const yin = a3 * (x + 0.5) + a4 * (y + 0.5) + a5;
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) {
        out[o] = fill[0];
        out[o + 1] = fill[1];
        out[o + 2] = fill[2];
        continue;
      }
      const xs = xin - 0.5;
      const ys = yin - 0.5;
      const x0 = Math.floor(xs);
      const y0 = Math.floor(ys);
      const dx = xs - x0;
      const dy = ys - y0;
      const c0 = Math.max(x0, 0) * 3;
      const c1 = Math.min(x0 + 1, w - 1) * 3;
      const r0 = Math.max(y0, 0) * w * 3;
      const r1 = Math.min(y0 + 1, h - 1) * w * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[r0 + c0 + c] + (data[r0 + c1 + c] - data[r0 + c0 + c]) * dx;
        const bottom = data[r1 + c0 + c] + (data[r1 + c1 + c] - data[r1 + c0 + c]) * dx;
        out[o + c] = Math.trunc(top + (bottom - top) * dy);
      }
    }
  }
  return out;
}
