// Every image enters the pipeline through here, so every consumer (scan, training cache, evaluation, predict,
// thumbnails) sees the same pixels: EXIF orientation applied, the first frame of an animation, transparency
// flattened onto white (as an image viewer shows it), and grey, palette, 16-bit or CMYK input converted to
// 8-bit sRGB with exactly three channels.
import { FileReadError, checkRegularFile } from '../util/read-file.ts';
import sharp, { type Metadata, type OutputInfo, type Sharp, type SharpOptions } from 'sharp';

export interface RgbImage {
  /** Interleaved RGB, row-major, `width * height * 3` bytes. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** The file could not be decoded; `reason` is short enough to show in a list of skipped files. */
export class ImageReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read image ${file}: ${reason}`);
    this.name = 'ImageReadError';
  }
}

const WHITE = { r: 255, g: 255, b: 255 };

/**
 * What an image file may be, checked before any decode or resize: a regular file (a FIFO or a device would
 * block or never end), of bounded size, pixel count and aspect ratio. The aspect ratio matters as much as the
 * pixels: resizing the shorter side of a 1 × 6000 image to 284 px asks for 284 × 1.7 million pixels.
 */
export const IMAGE_LIMITS = {
  maxFileBytes: 256 * 1024 * 1024,
  /** 100 megapixels (sharp's own default is 268). */
  maxPixels: 100_000_000,
  /** Longer side over shorter side: wide panoramas pass, strips and lines do not. */
  maxAspectRatio: 20,
};

// 'truncated' rejects files that end early but tolerates libjpeg's benign warnings (such as extraneous bytes
// before a marker), which many real photo collections contain and other decoders accept.
const INPUT_OPTIONS: SharpOptions = { failOn: 'truncated', autoOrient: true, limitInputPixels: IMAGE_LIMITS.maxPixels };

/** Throws ImageReadError unless `file` is a regular file within IMAGE_LIMITS.maxFileBytes (checked on the opened descriptor). */
export function checkImageFile(file: string): void {
  try {
    checkRegularFile(file, { maxBytes: IMAGE_LIMITS.maxFileBytes, what: 'image' });
  } catch (e) {
    if (e instanceof FileReadError) throw new ImageReadError(file, e.reason);
    throw e;
  }
}

/** Throws ImageReadError when an image of this size is over the pixel or aspect-ratio limit. */
export function checkImageGeometry(file: string, width: number, height: number): void {
  if (width * height > IMAGE_LIMITS.maxPixels) {
    throw new ImageReadError(file, `too large: ${width} × ${height} pixels is more than the ${IMAGE_LIMITS.maxPixels / 1e6} megapixels allowed`);
  }
  const ratio = Math.max(width, height) / Math.min(width, height);
  if (ratio > IMAGE_LIMITS.maxAspectRatio) {
    throw new ImageReadError(file, `too elongated: ${width} × ${height} pixels has an aspect ratio above ${IMAGE_LIMITS.maxAspectRatio}:1`);
  }
}

/** A sharp pipeline over `file` that produces 8-bit sRGB with three channels once `.raw()` is called. */
export function openRgb(file: string): Sharp {
  checkImageFile(file);
  return sharp(file, INPUT_OPTIONS).flatten({ background: WHITE }).toColourspace('srgb');
}

/** Wraps an RGB buffer as a sharp input (no copy). */
export function fromRgb(img: RgbImage): Sharp {
  const buf = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return sharp(buf, { raw: { width: img.width, height: img.height, channels: 3 } });
}

/** Runs a pipeline to raw RGB bytes and checks the result really has three 8-bit channels. */
export async function toRgb(pipeline: Sharp, file: string): Promise<RgbImage> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageReadError(file, describeDecodeError(e));
  }
  if (out.info.channels !== 3) {
    throw new ImageReadError(file, `decoded to ${out.info.channels} channels instead of 3`);
  }
  return { data: out.data, width: out.info.width, height: out.info.height };
}

/** Width and height as displayed, i.e. after EXIF orientation, read from the header alone. */
export async function orientedSize(file: string): Promise<{ width: number; height: number; format: string }> {
  checkImageFile(file);
  let meta: Metadata;
  try {
    // The header alone (no pixel limit here): checkImageGeometry below gives the reason with the sizes.
    meta = await sharp(file, { ...INPUT_OPTIONS, limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageReadError(file, describeDecodeError(e));
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new ImageReadError(file, 'the header gives no image size');
  checkImageGeometry(file, width, height);
  return { width, height, format: meta.format ?? 'unknown' };
}

/** libvips keeps one error buffer per process, so when several decodes fail at the same moment one of them can
 *  lose its message and report "Unknown error". Callers may retry once alone to get the real reason. */
export const UNDESCRIBED = 'corrupt or unreadable (the decoder gave no detail)';

/** Turns sharp/libvips messages into a reason a user can act on, keeping the decoder's own words. */
export function describeDecodeError(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].trim();
  if (/unsupported image format/i.test(msg)) return 'not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, AVIF)';
  if (/premature end|truncat|read error|unexpected end|not enough data/i.test(msg)) return `truncated or corrupt (${msg})`;
  if (/missing|ENOENT|no such file/i.test(msg)) return 'no such file';
  if (/pixel limit/i.test(msg)) return `too large to decode (${msg})`;
  if (msg === '' || /^unknown error$/i.test(msg)) return UNDESCRIBED;
  return msg;
}
