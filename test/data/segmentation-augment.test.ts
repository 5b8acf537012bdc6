// Segmentation augmentation on a synthetic image whose classes are coloured rectangles: after scale, crop and flip
// every pixel of a pure class colour must carry that class in the mask, the mask holds only the source's values,
// padding is IGNORE_INDEX (and the fill in the image); samples are reproducible; mismatched files are one error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/data/decode.ts';
import { encodeIndexMask, type IndexMask } from '../../src/data/mask-png.ts';
import {
  DEFAULT_SEGMENTATION_AUGMENT, SEGMENTATION_FILL, augmentSegmentation, drawSegmentationAugmentation, readMaskPair,
  resizeMaskNearest, segmentationEvalTransform, segmentationTrainSample, validateSegmentationAugment, type SegmentationAugmentation, type SegmentationSample,
} from '../../src/data/segmentation-augment.ts';
import { IGNORE_INDEX } from '../../src/util/mask-values.ts';

// Class → colour; 255 (ignore) is a white stroke, as VOC's object borders.
const COLOURS: Record<number, [number, number, number]> = { 0: [20, 20, 20], 1: [250, 0, 0], 2: [0, 0, 250], 255: [255, 255, 255] };
const RECTS: { cls: number; x0: number; y0: number; x1: number; y1: number }[] = [
  { cls: 1, x0: 4, y0: 3, x1: 20, y1: 15 },
  { cls: 255, x0: 20, y0: 3, x1: 22, y1: 15 },
  { cls: 2, x0: 24, y0: 12, x1: 38, y1: 28 },
];

function synthetic(width = 40, height = 30): { image: RgbImage; mask: IndexMask } {
  const image = { width, height, data: new Uint8Array(width * height * 3) };
  const mask = { width, height, data: new Uint8Array(width * height) };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cls = RECTS.find((r) => x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1)?.cls ?? 0;
      mask.data[y * width + x] = cls;
      image.data.set(COLOURS[cls], (y * width + x) * 3);
    }
  }
  return { image, mask };
}

/** Checks one sample against its drawn augmentation; returns how many pixels had a pure class colour. */
function checkSample(s: SegmentationSample, size: number, aug: SegmentationAugmentation | null): number {
  const pure = new Map(Object.entries(COLOURS).map(([cls, [r, g, b]]) => [`${r},${g},${b}`, Number(cls)]));
  let matched = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const label = s.labels[i];
      expect([0, 1, 2, IGNORE_INDEX]).toContain(label);
      const ux = aug?.flip ? size - 1 - x : x;
      if (aug && (aug.left + ux >= aug.scaled.width || aug.top + y >= aug.scaled.height)) {
        expect(label).toBe(IGNORE_INDEX);
        expect([...s.pixels.subarray(i * 3, i * 3 + 3)]).toEqual([SEGMENTATION_FILL, SEGMENTATION_FILL, SEGMENTATION_FILL]);
        continue;
      }
      const cls = pure.get(`${s.pixels[i * 3]},${s.pixels[i * 3 + 1]},${s.pixels[i * 3 + 2]}`);
      if (cls !== undefined) {
        expect(label, `pixel (${x}, ${y})`).toBe(cls);
        matched++;
      }
    }
  }
  return matched;
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function writePair(image: RgbImage, mask: IndexMask): Promise<{ image: string; mask: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'segaug-'));
  dirs.push(dir);
  const files = { image: join(dir, 'img.png'), mask: join(dir, 'img_mask.png') };
  await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(files.image);
  writeFileSync(files.mask, encodeIndexMask(mask));
  return files;
}

describe('segmentation augmentation', () => {
  it('moves the mask with the image through scale, crop and flip; pads with ignore; never interpolates labels', async () => {
    const { image, mask } = synthetic();
    const size = 24;
    let flips = 0, padded = 0, enlarged = 0;
    for (let index = 0; index < 24; index++) {
      const aug = drawSegmentationAugmentation(DEFAULT_SEGMENTATION_AUGMENT, 7, 0, index, image.width, image.height, size);
      expect(Math.min(aug.scaled.width, aug.scaled.height)).toBeGreaterThanOrEqual(size * 0.5 - 1);
      expect(Math.min(aug.scaled.width, aug.scaled.height)).toBeLessThanOrEqual(size * 2 + 1);
      flips += aug.flip ? 1 : 0;
      padded += aug.scaled.height < size ? 1 : 0;
      enlarged += aug.scaled.height > image.height ? 1 : 0;
      const sample = await augmentSegmentation(image, mask, size, aug);
      expect(sample.pixels.length).toBe(size * size * 3);
      expect(sample.labels.length).toBe(size * size);
      const inside = Math.min(size, aug.scaled.width - aug.left) * Math.min(size, aug.scaled.height - aug.top);
      // Most of the image is solid colour; the blended edges are the exception.
      expect(checkSample(sample, size, aug)).toBeGreaterThan(inside * 0.4);
    }
    // The seeds exercised every path.
    expect([flips > 0, flips < 24, padded > 0, enlarged > 0]).toEqual([true, true, true, true]);
  });

  it('places a flipped crop exactly: a hand-chosen augmentation against the mask computed by hand', async () => {
    const { image, mask } = synthetic();
    // Scale 1 (no resize), crop at (10, 5), flipped: output column x shows source column 10 + 15 - x.
    const aug = { scaled: { width: 40, height: 30 }, left: 10, top: 5, flip: true };
    const s = await augmentSegmentation(image, mask, 16, aug);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const src = (5 + y) * 40 + (10 + 15 - x);
        expect(s.labels[y * 16 + x]).toBe(mask.data[src]);
        expect([...s.pixels.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)]).toEqual([...image.data.subarray(src * 3, src * 3 + 3)]);
      }
    }
  });

  it('resizes masks nearest-neighbour at pixel centres (as PIL NEAREST), the centres the bilinear resize aligns', () => {
    // Columns 0..7 hold their own index. Halving samples the centre of each pair (columns 1, 3, 5, 7), never a blend.
    const stripes = { width: 8, height: 1, data: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]) };
    expect([...resizeMaskNearest(stripes, 4, 1).data]).toEqual([1, 3, 5, 7]);
    // 8 → 6 (factor 4/3): output x reads column floor((x + 0.5) · 4/3).
    expect([...resizeMaskNearest(stripes, 6, 1).data]).toEqual([0, 2, 3, 4, 6, 7]);
    // Enlarging 8 → 20 (factor 0.4): column floor((x + 0.5) · 0.4), each column 2 or 3 times.
    expect([...resizeMaskNearest(stripes, 20, 1).data]).toEqual([0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5, 6, 6, 7, 7, 7]);
    const column = { width: 1, height: 4, data: Uint8Array.from([9, 8, 7, 6]) };
    expect([...resizeMaskNearest(column, 1, 2).data]).toEqual([8, 6]);
  });

  it('resizes image and mask together for evaluation', async () => {
    const { image, mask } = synthetic();
    for (const size of [16, 57]) {
      const s = await segmentationEvalTransform(image, mask, size);
      expect(checkSample(s, size, null)).toBeGreaterThan(size * size * 0.4);
    }
  });

  it('gives identical bytes for the same seed, epoch and image, and other draws for another image or epoch', async () => {
    const { image, mask } = synthetic();
    const files = await writePair(image, mask);
    const cfg = DEFAULT_SEGMENTATION_AUGMENT;
    const a = await segmentationTrainSample(files, cfg, 11, 2, 5, 20);
    const b = await segmentationTrainSample(files, cfg, 11, 2, 5, 20);
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);
    expect(Buffer.from(b.labels).equals(Buffer.from(a.labels))).toBe(true);
    const draws = [0, 1, 2, 3].map((i) => JSON.stringify(drawSegmentationAugmentation(cfg, 11, 2, i, 40, 30, 20)));
    expect(new Set(draws).size).toBe(4);
    expect(JSON.stringify(drawSegmentationAugmentation(cfg, 11, 3, 5, 40, 30, 20))).not.toBe(JSON.stringify(drawSegmentationAugmentation(cfg, 11, 2, 5, 40, 30, 20)));
  });

  it('rejects an image and mask of different sizes with one error naming both files, and bad settings', async () => {
    const { image } = synthetic(40, 30);
    const { mask } = synthetic(30, 30);
    const files = await writePair(image, mask);
    const err = await readMaskPair(files).then(() => null, (e: Error) => e);
    expect(err?.message).toContain(files.image);
    expect(err?.message).toContain(files.mask);
    expect(err?.message).toMatch(/30×30.*40×30/);
    await expect(augmentSegmentation(image, mask, 16, { scaled: { width: 40, height: 30 }, left: 0, top: 0, flip: false })).rejects.toThrow(/mask is 30×30 but its image/);
    expect(() => validateSegmentationAugment({ scale: [2, 0.5], hflip: 0.5 })).toThrow(/scale/);
    expect(() => validateSegmentationAugment({ scale: [0.5, 2], hflip: 1.5 })).toThrow(/hflip/);
    expect(() => drawSegmentationAugmentation(DEFAULT_SEGMENTATION_AUGMENT, 1, 0, 0, 40, 30, 0)).toThrow(/size/);
  });
});
