// Detection augmentation on a synthetic image whose boxes are drawn as coloured rectangles: after SSD's crop, the
// flip and the resize, each kept box must frame its rectangle's pixels; boxes whose centre left the crop are gone;
// the crop obeys SSD's constraints; photometric steps are checked on hand-worked pixels; samples are reproducible.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/data/decode.ts';
import {
  DEFAULT_DETECTION_AUGMENT, SSD_CROP, applyPhotometric, augmentDetection, boxesInCrop, detectionEvalTransform,
  detectionTrainSample, drawDetectionAugmentation, readDetectionImage, sampleSsdCrop, validateDetectionAugment,
  type DetectionSample, type Photometric,
} from '../../src/data/detection-augment.ts';
import type { DetectionImage } from '../../src/data/detection-scan.ts';
import { matchAnchors } from '../../src/optim/detection-loss.ts';
import { Rng } from '../../src/util/random.ts';

const W = 64, H = 48;
const BACKGROUND: [number, number, number] = [128, 128, 128];
// Label → colour and its box [x, y, w, h] in pixels; label 3 is a crowd region.
const OBJECTS = [
  { label: 1, colour: [250, 0, 0], box: [6, 6, 16, 14], crowd: false },
  { label: 2, colour: [0, 250, 0], box: [34, 22, 22, 18], crowd: false },
  { label: 3, colour: [0, 0, 250], box: [50, 2, 10, 8], crowd: true },
] as const;

function synthetic(): { rgb: RgbImage; image: DetectionImage } {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < W * H; i++) data.set(BACKGROUND, i * 3);
  for (const o of OBJECTS) {
    const [x, y, w, h] = o.box;
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) data.set(o.colour, (yy * W + xx) * 3);
  }
  const boxes = OBJECTS.map((o) => ({ box: [...o.box] as [number, number, number, number], label: o.label, crowd: o.crowd }));
  return { rgb: { data, width: W, height: H }, image: { image: 'synthetic.png', width: W, height: H, boxes } };
}

/** Each kept box frames exactly the output pixels of its colour: pure pixels inside it, its inner part all pure. */
function checkBoxesFollowPixels(s: DetectionSample, size: number): void {
  for (let k = 0; k < s.labels.length; k++) {
    const { colour } = OBJECTS.find((o) => o.label === s.labels[k])!;
    const [x0, y0, x1, y1] = Array.from(s.boxes.subarray(4 * k, 4 * k + 4), (v) => v * size);
    expect(x0).toBeLessThan(x1);
    expect(y0).toBeLessThan(y1);
    let pure = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = (y * size + x) * 3;
        const isColour = s.pixels[i] === colour[0] && s.pixels[i + 1] === colour[1] && s.pixels[i + 2] === colour[2];
        const [cx, cy] = [x + 0.5, y + 0.5];
        // A pure pixel's whole resampling kernel lies in the rectangle, so its centre lies in the box.
        if (isColour) {
          pure++;
          expect(cx > x0 && cx < x1 && cy > y0 && cy < y1, `label ${s.labels[k]} pixel (${x}, ${y}) outside [${x0}, ${y0}, ${x1}, ${y1}]`).toBe(true);
        }
        // A pixel 1.5 output pixels inside the box sees only the rectangle (the rectangles do not overlap).
        if (cx > x0 + 1.5 && cx < x1 - 1.5 && cy > y0 + 1.5 && cy < y1 - 1.5) expect(isColour, `label ${s.labels[k]} pixel (${x}, ${y})`).toBe(true);
      }
    }
    if (x1 - x0 > 4 && y1 - y0 > 4) expect(pure).toBeGreaterThan(0);
  }
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('detection augmentation', () => {
  it('moves the boxes with the pixels through SSD crop, flip and resize; drops boxes whose centre left the crop', async () => {
    const { rgb, image } = synthetic();
    const cfg = { ...DEFAULT_DETECTION_AUGMENT, photometric: false };
    const size = 40;
    let cropped = 0, flipped = 0, dropped = 0;
    for (let index = 0; index < 40; index++) {
      const aug = drawDetectionAugmentation(cfg, 5, 1, index, image);
      const s = await augmentDetection(rgb, image, size, aug);
      const { crop } = aug;
      cropped += crop.width < W || crop.height < H ? 1 : 0;
      flipped += aug.flip ? 1 : 0;
      // Exactly the boxes whose centre is inside the crop remain, with their labels and crowd flags.
      const inside = OBJECTS.filter(({ box: [x, y, w, h] }) => {
        const [cx, cy] = [x + w / 2, y + h / 2];
        return cx > crop.left && cx < crop.left + crop.width && cy > crop.top && cy < crop.top + crop.height;
      });
      dropped += OBJECTS.length - inside.length;
      expect([...s.labels]).toEqual(inside.map((o) => o.label));
      expect([...s.crowd]).toEqual(inside.map((o) => (o.crowd ? 1 : 0)));
      expect(s.boxes.every((v) => v >= 0 && v <= 1)).toBe(true);
      checkBoxesFollowPixels(s, size);
    }
    expect([cropped > 0, cropped < 40, flipped > 0, flipped < 40, dropped > 0]).toEqual([true, true, true, true, true]);
  });

  it('obeys SSD crop constraints: side fractions, aspect ratio, some box at IoU 0.1 or more with its centre inside', () => {
    const boxes: [number, number, number, number][] = [[10, 10, 40, 30], [60, 50, 90, 95]];
    const rng = new Rng(123);
    let whole = 0;
    for (let n = 0; n < 300; n++) {
      const c = sampleSsdCrop(rng, 100, 100, boxes);
      if (c.width === 100 && c.height === 100) { whole++; continue; }
      expect(Math.min(c.width, c.height)).toBeGreaterThanOrEqual(SSD_CROP.sideFraction[0] * 100 - 1);
      expect(c.height / c.width).toBeGreaterThanOrEqual(SSD_CROP.aspect[0]);
      expect(c.height / c.width).toBeLessThanOrEqual(SSD_CROP.aspect[1]);
      expect(c.left + c.width).toBeLessThanOrEqual(100);
      expect(c.top + c.height).toBeLessThanOrEqual(100);
      expect(boxesInCrop(boxes, c).kept.length).toBeGreaterThan(0);
      // Whatever minimum was drawn, it was at least 0.1, and some box reaches it.
      const window = [c.left, c.top, c.left + c.width, c.top + c.height];
      const ious = boxes.map((b) => {
        const inter = Math.max(0, Math.min(b[2], window[2]) - Math.max(b[0], window[0])) * Math.max(0, Math.min(b[3], window[3]) - Math.max(b[1], window[1]));
        return inter / ((b[2] - b[0]) * (b[3] - b[1]) + c.width * c.height - inter);
      });
      expect(Math.max(...ious)).toBeGreaterThanOrEqual(0.1);
    }
    // "none" is one choice in six: roughly 50 whole images in 300 draws.
    expect(whole).toBeGreaterThan(20);
    expect(whole).toBeLessThan(100);
    // No boxes: never cropped.
    expect(sampleSsdCrop(new Rng(1), 100, 80, [])).toEqual({ left: 0, top: 0, width: 100, height: 80 });
  });

  it('clips kept boxes to the crop and drops boxes whose centre is outside, by hand', () => {
    const crop = { left: 10, top: 20, width: 30, height: 30 };
    const { kept, boxes } = boxesInCrop([[0, 15, 30, 45], [0, 0, 18, 18], [35, 40, 60, 60], [45, 25, 50, 30]], crop);
    // Centre (15, 30) inside → clipped; (9, 9) outside; (47.5, 50) outside (x beyond 40); (47.5, 27.5) outside.
    expect(kept).toEqual([0]);
    expect(boxes).toEqual([[0, 0, 20, 25]]);
    // A centre exactly on the edge is outside, as in SSD (strict inequalities).
    expect(boxesInCrop([[0, 20, 20, 40]], crop).kept).toEqual([]);
  });

  it('evaluation resizes only, with boxes normalised to the image, ready for matchAnchors', async () => {
    const { rgb, image } = synthetic();
    const s = await detectionEvalTransform(rgb, image, 32);
    expect([...s.labels]).toEqual([1, 2, 3]);
    expect(Array.from(s.boxes.subarray(0, 4))).toEqual([6 / W, 6 / H, 22 / W, 20 / H].map(Math.fround));
    checkBoxesFollowPixels(s, 32);
    // An anchor equal to the red box is matched to label 1 with zero deltas.
    const [x0, y0, x1, y1] = s.boxes.subarray(0, 4);
    const t = matchAnchors(s.boxes.subarray(0, 4), [1], [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]);
    expect(t.labels[0]).toBe(1);
    for (const v of t.locations) expect(Math.abs(v)).toBeLessThan(1e-5);
  });

  it('distorts photometrically as documented, on hand-worked pixels', () => {
    const none: Photometric = { brightness: null, contrast: null, saturation: null, hue: null, contrastFirst: true };
    const px = (...v: number[]) => Uint8Array.from(v);
    const run = (p: Partial<Photometric>, pixels: Uint8Array) => { applyPhotometric(pixels, { ...none, ...p }); return [...pixels]; };
    expect(run({}, px(1, 2, 3, 200, 100, 50))).toEqual([1, 2, 3, 200, 100, 50]);
    expect(run({ brightness: 30 }, px(10, 240, 0))).toEqual([40, 255, 30]);
    expect(run({ contrast: 1.5 }, px(10, 200, 100))).toEqual([15, 255, 150]);
    // Brightness comes first, then contrast when it goes first.
    expect(run({ brightness: 10, contrast: 2 }, px(10, 20, 30))).toEqual([40, 60, 80]);
    // Contrast after saturation: (200, 100, 100) → (200, 150, 150) → ×2 clamps to white; before it, the clamp
    // to (255, 200, 200) comes first and saturation leaves some colour.
    expect(run({ contrast: 2, saturation: 0.5, contrastFirst: false }, px(200, 100, 100))).toEqual([255, 255, 255]);
    const first = run({ contrast: 2, saturation: 0.5, contrastFirst: true }, px(200, 100, 100));
    expect(first[0]).toBe(255);
    expect(first[1]).toBeLessThan(255);
    // Hue +120° turns red into green; saturation ×0.5 of (200, 100, 100): S 0.5 → 0.25, V kept → (200, 150, 150).
    expect(run({ hue: 120 }, px(200, 0, 0))).toEqual([0, 200, 0]);
    expect(run({ saturation: 0.5 }, px(200, 100, 100))).toEqual([200, 150, 150]);
    // Grey has no hue: unchanged.
    expect(run({ hue: 17, saturation: 1.4 }, px(90, 90, 90))).toEqual([90, 90, 90]);
  });

  it('gives identical bytes and boxes for the same seed, epoch and image', async () => {
    const { rgb, image } = synthetic();
    const dir = mkdtempSync(join(tmpdir(), 'detaug-'));
    dirs.push(dir);
    const file = join(dir, 'img.png');
    await sharp(Buffer.from(rgb.data), { raw: { width: W, height: H, channels: 3 } }).png().toFile(file);
    const onDisk = { ...image, image: file };
    const samples = await Promise.all([0, 0, 1].map((epoch) => detectionTrainSample(onDisk, DEFAULT_DETECTION_AUGMENT, 9, epoch, 4, 32)));
    expect(Buffer.from(samples[1].pixels).equals(Buffer.from(samples[0].pixels))).toBe(true);
    expect([...samples[1].boxes]).toEqual([...samples[0].boxes]);
    const draws = Array.from({ length: 8 }, (_, i) => JSON.stringify(drawDetectionAugmentation(DEFAULT_DETECTION_AUGMENT, 9, 0, i, image)));
    expect(new Set(draws).size).toBe(8);
    // Photometric draws do change pixels relative to the plain geometric sample.
    const distorted = await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const aug = drawDetectionAugmentation(DEFAULT_DETECTION_AUGMENT, 9, 0, i, image);
      const plain = await augmentDetection(rgb, image, 32, { ...aug, photometric: null });
      return !Buffer.from((await augmentDetection(rgb, image, 32, aug)).pixels).equals(Buffer.from(plain.pixels));
    }));
    expect(distorted.some(Boolean)).toBe(true);
  });

  it('rejects an image that is not the size its labels were made for, naming the file, and bad settings', async () => {
    const { rgb, image } = synthetic();
    const dir = mkdtempSync(join(tmpdir(), 'detaug-'));
    dirs.push(dir);
    const file = join(dir, 'small.png');
    await sharp(Buffer.from(rgb.data), { raw: { width: W, height: H, channels: 3 } }).resize(32, 24).png().toFile(file);
    await expect(readDetectionImage({ ...image, image: file })).rejects.toThrow(new RegExp(`${file}.*32×24.*64×48`));
    await expect(augmentDetection(rgb, { ...image, width: 10 }, 32, drawDetectionAugmentation(DEFAULT_DETECTION_AUGMENT, 1, 0, 0, image))).rejects.toThrow(/synthetic\.png/);
    expect(() => validateDetectionAugment({ ...DEFAULT_DETECTION_AUGMENT, hflip: -1 })).toThrow(/hflip/);
    await expect(detectionEvalTransform(rgb, image, 0)).rejects.toThrow(/size/);
  });
});
