// Augmentation and evaluation transforms: the random crop's geometry, reproducibility from the seed, exact flips,
// the float conversion with and without jitter, and the evaluation resize + centre crop.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUGMENT, cropResizeFlip, drawAugmentation, randomResizedCropBox, validateAugment } from '../../src/data/augment.ts';
import type { RgbImage } from '../../src/data/decode.ts';
import { centreCrop, decodeForEval, evalResizeSize, roundHalfEven, shorterSideResize } from '../../src/data/eval-transform.ts';
import { writeUnitFloats } from '../../src/data/pixels.ts';
import { Rng } from '../../src/util/random.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mvs-transforms-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** An image whose every pixel is distinct: R = x, G = y, B = (x * 7 + y * 13) mod 256. */
function coordinateImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, (x * 7 + y * 13) % 256], (y * width + x) * 3);
  return { data, width, height };
}

describe('random-resized crop box', () => {
  it('stays inside the image with area and aspect ratio in range', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 2000; i++) {
      const b = randomResizedCropBox(rng, 200, 120, [0.08, 1], [3 / 4, 4 / 3]);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left + b.width).toBeLessThanOrEqual(200);
      expect(b.top + b.height).toBeLessThanOrEqual(120);
      const area = (b.width * b.height) / (200 * 120);
      expect(area).toBeGreaterThan(0.06); // 0.08 up to rounding of the sides
      expect(b.width / b.height).toBeGreaterThan(0.7);
      expect(b.width / b.height).toBeLessThan(1.45);
    }
  });

  it('covers the scale range it is given', () => {
    const rng = new Rng(2);
    const areas = Array.from({ length: 500 }, () => {
      const b = randomResizedCropBox(rng, 100, 100, [0.25, 1], [3 / 4, 4 / 3]);
      return (b.width * b.height) / 10000;
    });
    expect(Math.min(...areas)).toBeLessThan(0.3);
    expect(Math.min(...areas)).toBeGreaterThan(0.22);
    expect(Math.max(...areas)).toBeGreaterThan(0.85);
  });

  it('falls back to a centred box of clamped ratio when no try fits', () => {
    expect(randomResizedCropBox(new Rng(3), 1000, 10, [0.9, 1], [3 / 4, 4 / 3])).toEqual({ left: 493, top: 0, width: 13, height: 10 });
  });

  it('rejects bad ranges', () => {
    expect(() => validateAugment({ ...DEFAULT_AUGMENT, scale: [0, 1] })).toThrow(/scale/);
    expect(() => validateAugment({ ...DEFAULT_AUGMENT, ratio: [2, 1] })).toThrow(/ratio/);
    expect(() => validateAugment({ ...DEFAULT_AUGMENT, hflip: 2 })).toThrow(/hflip/);
  });
});

describe('per-image augmentation draw', () => {
  it('is a pure function of (seed, epoch, index) and changes with each', () => {
    const draw = (seed: number, epoch: number, index: number): unknown => drawAugmentation(DEFAULT_AUGMENT, seed, epoch, index, 300, 200);
    expect(draw(1, 2, 3)).toEqual(draw(1, 2, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(1, 3, 3));
    expect(draw(1, 2, 3)).not.toEqual(draw(1, 2, 4));
    expect(draw(1, 2, 3)).not.toEqual(draw(2, 2, 3));
  });

  it('flips about half the images and draws jitter only when enabled', () => {
    const flips = Array.from({ length: 1000 }, (_, i) => drawAugmentation(DEFAULT_AUGMENT, 0, 0, i, 64, 64).flip).filter(Boolean).length;
    expect(flips).toBeGreaterThan(430);
    expect(flips).toBeLessThan(570);
    expect(drawAugmentation(DEFAULT_AUGMENT, 0, 0, 0, 64, 64).jitter).toBeNull();
    const j = drawAugmentation({ ...DEFAULT_AUGMENT, colorJitter: 0.4 }, 0, 0, 0, 64, 64).jitter!;
    for (const v of [j.brightness, j.contrast, j.saturation]) expect(Math.abs(v - 1)).toBeLessThanOrEqual(0.4);
  });
});

describe('crop, resize and flip', () => {
  const img = coordinateImage(48, 40);
  const whole = { left: 0, top: 0, width: 48, height: 40 };

  it('copies a crop exactly when no resize is needed, and mirrors it exactly when flipped', async () => {
    const box = { left: 5, top: 3, width: 24, height: 24 };
    const out = await cropResizeFlip(img, 24, { crop: box, flip: false });
    const flipped = await cropResizeFlip(img, 24, { crop: box, flip: true });
    for (let y = 0; y < 24; y++) {
      for (let x = 0; x < 24; x++) {
        const at = (y * 24 + x) * 3;
        expect([out[at], out[at + 1]]).toEqual([x + 5, y + 3]);
        expect([flipped[at], flipped[at + 1]]).toEqual([23 - x + 5, y + 3]);
      }
    }
  });

  it('resizes any crop to the exact square size', async () => {
    for (const size of [16, 32, 57]) {
      const out = await cropResizeFlip(img, size, { crop: whole, flip: false });
      expect(out.length).toBe(size * size * 3);
    }
  });
});

describe('float conversion', () => {
  const bytes = Uint8Array.from([0, 51, 255, 128, 64, 32]);

  it('maps bytes to [0, 1] exactly as byte / 255', () => {
    const out = new Float32Array(8);
    writeUnitFloats(bytes, out, 2, null);
    expect([...out.subarray(2)]).toEqual([...bytes].map((b) => Math.fround(b / 255)));
    expect([out[0], out[1]]).toEqual([0, 0]);
  });

  it('applies jitter: identity factors change nothing, others stay in [0, 1]', () => {
    const plain = new Float32Array(6);
    const same = new Float32Array(6);
    writeUnitFloats(bytes, plain, 0, null);
    writeUnitFloats(bytes, same, 0, { brightness: 1, contrast: 1, saturation: 1 });
    for (let i = 0; i < 6; i++) expect(same[i]).toBeCloseTo(plain[i], 6);
    const dark = new Float32Array(6);
    writeUnitFloats(bytes, dark, 0, { brightness: 0.5, contrast: 1, saturation: 1 });
    for (let i = 0; i < 6; i++) expect(dark[i]).toBeCloseTo(plain[i] * 0.5, 6);
    const grey = new Float32Array(6);
    writeUnitFloats(bytes, grey, 0, { brightness: 1.3, contrast: 1.5, saturation: 0 });
    expect(grey[0]).toBeCloseTo(grey[1], 6);
    expect(grey[1]).toBeCloseTo(grey[2], 6);
    for (const v of grey) expect(v >= 0 && v <= 1).toBe(true);
  });
});

describe('evaluation transform', () => {
  it('resizes the shorter side to floor(size / 0.9) as timm does, truncating the longer side', () => {
    expect(evalResizeSize(256)).toBe(284);
    expect(evalResizeSize(64)).toBe(71);
    expect(evalResizeSize(224, 0.875)).toBe(256);
    expect(shorterSideResize(300, 200, 284)).toEqual({ width: 426, height: 284 });
    expect(shorterSideResize(99, 200, 71)).toEqual({ width: 71, height: 143 });
  });

  it('rounds the centre-crop offset half to even, as Python', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3]);
    const crop = centreCrop(coordinateImage(9, 6), 4); // offsets: left round(2.5) = 2, top round(1) = 1
    expect([crop[0], crop[1]]).toEqual([2, 1]);
    expect(() => centreCrop(coordinateImage(3, 3), 4)).toThrow(/does not fit/);
  });

  it('decodes to size x size x 3 floats in [0, 1] with the original size', async () => {
    const file = join(tmp, 'wide.png');
    await sharp({ create: { width: 150, height: 90, channels: 3, background: { r: 255, g: 128, b: 0 } } }).png().toFile(file);
    const out = await decodeForEval(file, 64);
    expect(out.width).toBe(64);
    expect(out.height).toBe(64);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(out.data.length).toBe(64 * 64 * 3);
    expect(out.original).toEqual({ width: 150, height: 90 });
    expect([out.data[0], out.data[1], out.data[2]]).toEqual([1, Math.fround(128 / 255), 0]);
  });

  it('takes exactly the centre when the image is already at the resize size', async () => {
    const src = coordinateImage(71, 80); // shorter side 71 = floor(64 / 0.9): the resize is the identity
    const file = join(tmp, 'coords.png');
    await sharp(Buffer.from(src.data), { raw: { width: 71, height: 80, channels: 3 } }).png().toFile(file);
    const out = await decodeForEval(file, 64);
    // offsets: left round(3.5) = 4, top round(8) = 8
    for (const [x, y] of [[0, 0], [63, 0], [10, 40], [63, 63]]) {
      const at = (y * 64 + x) * 3;
      expect([Math.round(out.data[at] * 255), Math.round(out.data[at + 1] * 255)]).toEqual([x + 4, y + 8]);
    }
  });

  it('rejects a bad size and names an unreadable file', async () => {
    await expect(decodeForEval(join(tmp, 'coords.png'), 0)).rejects.toThrow(/size/);
    await expect(decodeForEval(join(tmp, 'missing.png'), 32)).rejects.toThrow(join(tmp, 'missing.png'));
  });
});
