// Heatmaps as PNG: a map of non-negative values coloured with viridis, alone or blended over the image
// the model saw. Encoding goes through sharp from raw RGB bytes.
import sharp from 'sharp';

/** matplotlib's viridis sampled at 9 evenly spaced points; linear interpolation in between. */
const VIRIDIS: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** t in [0, 1] (clamped) → an RGB colour. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

export type HeatmapScale =
  /**
   * 'linear': value / max. 'log': log10(value / max) mapped from [log10(floor), 0] onto [0, 1], which
   * shows fields spanning orders of magnitude (a receptive field's support sits at 1e-4 of its max).
   */
  | { kind: 'linear' | 'log'; floor?: number }
  /**
   * (value − lo) / (hi − lo), clamped. A range under 1 % of hi is flat: values in it map to 0.5 and
   * values above it (an attention query's own patch) to 1.
   */
  | { kind: 'range'; lo: number; hi: number };

/** Values → [0, 1] per the scale, relative to the map's maximum (or the given range). */
export function normalise(values: ArrayLike<number>, scale: HeatmapScale = { kind: 'linear' }): Float32Array {
  if (scale.kind === 'range') {
    const { lo, hi } = scale;
    const flat = hi - lo <= 0.01 * hi;
    return Float32Array.from(values, (v) => (flat ? (v > hi ? 1 : 0.5) : Math.min(1, Math.max(0, (v - lo) / (hi - lo)))));
  }
  let max = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const out = new Float32Array(values.length);
  if (max <= 0) return out;
  const floor = scale.floor ?? 1e-4;
  const logFloor = Math.log10(floor);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] / max;
    out[i] = scale.kind === 'linear' ? v : v <= floor ? 0 : 1 - Math.log10(v) / logFloor;
  }
  return out;
}

/** An RGB image with float channels in [0, 1], height × width × 3 (the model's input layout). */
export interface RgbImage {
  data: Float32Array;
  height: number;
  width: number;
}

function checkSize(values: ArrayLike<number>, height: number, width: number): void {
  if (values.length !== height * width) throw new RangeError(`heatmap has ${values.length} values, expected ${height}×${width}`);
}

/** The map alone, coloured. */
export async function heatmapPng(values: ArrayLike<number>, height: number, width: number, scale?: HeatmapScale): Promise<Buffer> {
  checkSize(values, height, width);
  const t = normalise(values, scale);
  const rgb = Buffer.alloc(height * width * 3);
  for (let i = 0; i < t.length; i++) rgb.set(viridis(t[i]), i * 3);
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/**
 * The map blended over the image: colour weight `alpha`·(0.35 + 0.65·t) so that where the map is
 * low the image shows through and where it is high the colour dominates.
 */
export async function overlayPng(image: RgbImage, values: ArrayLike<number>, scale?: HeatmapScale, alpha = 0.8): Promise<Buffer> {
  const { height, width } = image;
  checkSize(values, height, width);
  if (image.data.length !== height * width * 3) throw new RangeError(`image has ${image.data.length} values, expected ${height}×${width}×3`);
  const t = normalise(values, scale);
  const rgb = Buffer.alloc(height * width * 3);
  for (let i = 0; i < t.length; i++) {
    const colour = viridis(t[i]);
    const a = alpha * (0.35 + 0.65 * t[i]);
    for (let k = 0; k < 3; k++) {
      const px = Math.min(1, Math.max(0, image.data[i * 3 + k])) * 255;
      rgb[i * 3 + k] = Math.round((1 - a) * px + a * colour[k]);
    }
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** The image alone, as the model saw it: what a window fades an overlay in and out over. */
export async function imagePng(image: RgbImage): Promise<Buffer> {
  const { height, width } = image;
  const rgb = Buffer.alloc(height * width * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(Math.min(1, Math.max(0, image.data[i])) * 255);
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export const pngDataUrl = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`;
