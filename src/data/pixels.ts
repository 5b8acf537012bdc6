// Conversion of RGB bytes to the float input the model takes, with the optional colour jitter folded in so the
// batch buffer is written in one pass.

export interface Jitter {
  brightness: number;
  contrast: number;
  saturation: number;
}

/**
 * Writes `pixels` (RGB bytes) into `out` at `offset` as floats in [0, 1], applying the jitter if any: brightness
 * scales, contrast blends with the image's mean grey, saturation blends with each pixel's grey (fixed order,
 * clamped to [0, 1] after each step, as torchvision's functional ops do).
 */
// byte -> float in [0, 1], precomputed once (the same values as byte / 255).
const UNIT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

export function writeUnitFloats(pixels: Uint8Array, out: Float32Array, offset: number, jitter: Jitter | null): void {
  const n = pixels.length;
  if (!jitter) {
    for (let i = 0; i < n; i++) out[offset + i] = UNIT[pixels[i]];
    return;
  }
  const clamp = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
  const { brightness: b, contrast: c, saturation: s } = jitter;
  let greySum = 0;
  for (let i = 0; i < n; i += 3) greySum += grey(clamp(UNIT[pixels[i]] * b), clamp(UNIT[pixels[i + 1]] * b), clamp(UNIT[pixels[i + 2]] * b));
  const meanGrey = greySum / (n / 3);
  for (let i = 0; i < n; i += 3) {
    let r = clamp(meanGrey + (clamp(UNIT[pixels[i]] * b) - meanGrey) * c);
    let g = clamp(meanGrey + (clamp(UNIT[pixels[i + 1]] * b) - meanGrey) * c);
    let bl = clamp(meanGrey + (clamp(UNIT[pixels[i + 2]] * b) - meanGrey) * c);
    const y = grey(r, g, bl);
    r = clamp(y + (r - y) * s);
    g = clamp(y + (g - y) * s);
    bl = clamp(y + (bl - y) * s);
    out[offset + i] = r;
    out[offset + i + 1] = g;
    out[offset + i + 2] = bl;
  }
}

/** ITU-R 601 luma, as torchvision's rgb_to_grayscale. */
function grey(r: number, g: number, b: number): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}
