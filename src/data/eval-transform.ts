// The evaluation transform of timm's pretrained MobileViT config (default_cfg: crop_pct 0.9, bicubic, mean 0,
// std 1): resize the shorter side to floor(size / 0.9), keeping the aspect ratio, then take the centred
// size x size crop. Output pixels are in [0, 1]; MobileViT uses no mean/std normalisation. Sizes and crop offsets
// are computed as torchvision does, so a PyTorch evaluation of the same file sees the same crop.
import sharp from 'sharp';
import { ImageReadError, openRgb, orientedSize, toRgb, type RgbImage } from './decode.ts';
import { writeUnitFloats } from './pixels.ts';
import { REFERENCE_RECIPE } from '../protocol/recipe.ts';
import type { Interpolation } from '../util/interpolation.ts';

/** The centre fraction kept: the reference recipe's (timm's crop_pct), defined once in src/protocol/recipe.ts. */
export const EVAL_CROP_PCT = REFERENCE_RECIPE.evalCrop;
/** The largest evaluation size (the API allows 1024). */
export const MAX_EVAL_SIZE = 4096;
const SHARP_KERNEL = { bicubic: sharp.kernel.cubic, bilinear: sharp.kernel.linear } as const satisfies Record<Interpolation, string>;

/** The resized image before the crop: a bound on memory whatever the image and the size (64 M pixels = 192 MB). */
const MAX_RESIZED_PIXELS = 64_000_000;

export interface EvalImage {
  /** NHWC with N = 1: `width * height * 3` floats in [0, 1]. */
  data: Float32Array;
  width: number;
  height: number;
  /** Size of the source image as displayed (after EXIF orientation). */
  original: { width: number; height: number };
}

/** The shorter side before the centre crop. */
export function evalResizeSize(size: number, cropPct = EVAL_CROP_PCT): number {
  return Math.floor(size / cropPct);
}

/** Output size of "resize the shorter side to `short`": the longer side scales and truncates, as torchvision. */
export function shorterSideResize(width: number, height: number, short: number): { width: number; height: number } {
  return width <= height ? { width: short, height: Math.trunc((short * height) / width) } : { width: Math.trunc((short * width) / height), height: short };
}

/** Python's round(): halves go to the even neighbour. torchvision's centre crop offsets use it. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** Centre crop of an RGB image; pads nothing, so `size` must fit. */
export function centreCrop(img: RgbImage, size: number): Uint8Array {
  if (size > img.width || size > img.height) throw new Error(`centre crop ${size} does not fit a ${img.width}x${img.height} image`);
  const top = roundHalfEven((img.height - size) / 2);
  const left = roundHalfEven((img.width - size) / 2);
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const src = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(src, src + size * 3), y * size * 3);
  }
  return out;
}

/** Decodes `file` and applies the evaluation transform; returns RGB bytes (what the evaluation cache keeps). */
export async function evalTransformBytes(file: string, size: number, cropPct = EVAL_CROP_PCT, interpolation: Interpolation = 'bicubic'): Promise<{ data: Uint8Array; original: { width: number; height: number } }> {
  if (!(Number.isInteger(size) && size > 0 && size <= MAX_EVAL_SIZE)) throw new Error(`evaluation size must be an integer from 1 to ${MAX_EVAL_SIZE}, got ${size}`);
  if (!(cropPct > 0 && cropPct <= 1)) throw new Error(`crop fraction must be in (0, 1], got ${cropPct}`);
  // orientedSize checks the file (regular, bounded) and the image's pixels and aspect ratio before any resize.
  const original = await orientedSize(file);
  const target = shorterSideResize(original.width, original.height, evalResizeSize(size, cropPct));
  if (target.width * target.height > MAX_RESIZED_PIXELS) {
    throw new ImageReadError(file, `resizing ${original.width} × ${original.height} pixels for a ${size} px evaluation would need ${target.width} × ${target.height} pixels`);
  }
  const resized = await toRgb(openRgb(file).resize(target.width, target.height, { fit: 'fill', kernel: SHARP_KERNEL[interpolation] }), file);
  return { data: centreCrop(resized, size), original: { width: original.width, height: original.height } };
}

/** Decodes any common image and applies the evaluation transform: the input `predict` and inspection use. */
export async function decodeForEval(file: string, size: number, cropPct = EVAL_CROP_PCT, interpolation: Interpolation = 'bicubic'): Promise<EvalImage> {
  const { data, original } = await evalTransformBytes(file, size, cropPct, interpolation);
  const out = new Float32Array(data.length);
  writeUnitFloats(data, out, 0, null);
  return { data: out, width: size, height: size, original };
}
