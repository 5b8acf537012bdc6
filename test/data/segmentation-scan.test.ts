// The segmentation dataset scan on folders the test writes: both layouts, the split, class names, pixel shares,
// and every broken pair skipped with its file and reason.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeIndexMask } from '../../src/data/mask-png.ts';
import { isSegmentationFolder } from '../../src/data/dataset-kind.ts';
import { scanSegmentation } from '../../src/data/segmentation-scan.ts';
import { VOC_CLASSES } from '../../src/protocol/datasets.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';
import { makeDataset } from '../helpers/dataset.ts';

const made: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'segscan-'));
  made.push(d);
  return d;
};
afterEach(() => { for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('scanSegmentation', () => {
  it('reads images + masks with labels.txt: names, a seeded split, pixel shares that sum to 1', async () => {
    const root = tempDir();
    await makeSegmentationDataset(root, { layout: 'images-masks', count: 12, classes: 4, size: 40, labels: true });
    const scan = await scanSegmentation(root, { seed: 3 });
    expect(scan.layout).toBe('images-masks');
    expect(scan.classes).toEqual(['background', 'shape1', 'shape2', 'shape3']);
    expect(scan.classSource).toBe('labels.txt');
    expect(scan.train.length + scan.val.length).toBe(12);
    expect(scan.val.length).toBeGreaterThan(0);
    expect(scan.split).toEqual({ valFraction: 0.15, seed: 3 });
    expect(scan.pixelShare.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(scan.pixelShare.every((s) => s > 0)).toBe(true);
    // Images holding each class: at most all of them, and every class somewhere.
    expect(scan.imagesWith.train).toHaveLength(4);
    expect(scan.imagesWith.train.every((n) => n > 0 && n <= scan.train.length)).toBe(true);
    expect(scan.imagesWith.val.every((n) => n <= scan.val.length)).toBe(true);
    expect(scan.skipped).toEqual([]);
    expect(scan.problems).toEqual([]);
    // The same seed gives the same split.
    expect((await scanSegmentation(root, { seed: 3 })).val.map((p) => p.image)).toEqual(scan.val.map((p) => p.image));
  });

  it('reads the VOC layout: its names, its split files, 255 as ignore', async () => {
    const root = tempDir();
    await makeSegmentationDataset(root, { layout: 'voc', count: 8, classes: 3, size: 36, border: true });
    const scan = await scanSegmentation(root);
    expect(scan.layout).toBe('voc');
    expect(scan.classes).toEqual(VOC_CLASSES);
    expect(scan.split).toBeNull();
    expect(scan.train.map((p) => p.image.split('/').pop())).toEqual(['img_000.jpg', 'img_001.jpg', 'img_002.jpg', 'img_004.jpg', 'img_005.jpg', 'img_006.jpg']);
    expect(scan.val.map((p) => p.mask.split('/').pop())).toEqual(['img_003.png', 'img_007.png']);
    expect(scan.ignoredShare).toBeGreaterThan(0);
    expect(scan.pixelShare.slice(3).every((s) => s === 0)).toBe(true);
  });

  it('numbers the classes without labels.txt, and takes train/ and val/ as given', async () => {
    const root = tempDir();
    await makeSegmentationDataset(root, { layout: 'images-masks-split', count: 8, classes: 3, size: 32 });
    const scan = await scanSegmentation(root);
    expect(scan.classes).toEqual(['class 0', 'class 1', 'class 2']);
    expect(scan.classSource).toBe('numbered');
    expect(scan.notes.join(' ')).toMatch(/no labels\.txt: 3 classes/);
    expect([scan.train.length, scan.val.length, scan.split]).toEqual([6, 2, null]);
  });

  it('skips each broken pair with its file and reason, and keeps the rest', async () => {
    const root = tempDir();
    await makeSegmentationDataset(root, { layout: 'images-masks', count: 10, classes: 3, size: 32, labels: true });
    unlinkSync(join(root, 'masks', 'img_000.png')); // an image without a mask
    unlinkSync(join(root, 'images', 'img_001.png')); // a mask without an image
    writeFileSync(join(root, 'masks', 'img_002.png'), encodeIndexMask({ width: 16, height: 32, data: new Uint8Array(512) })); // size mismatch
    writeFileSync(join(root, 'masks', 'img_003.png'), encodeIndexMask({ width: 32, height: 32, data: new Uint8Array(1024).fill(7) })); // index 7 of 3 labels
    writeFileSync(join(root, 'masks', 'img_004.png'), Buffer.from('not a png')); // corrupt
    const scan = await scanSegmentation(root);
    const reasons = Object.fromEntries(scan.skipped.map((s) => [s.path.split('/').slice(-2).join('/'), s.reason]));
    expect(reasons).toEqual({
      'images/img_000.png': 'no mask with the same name',
      'masks/img_001.png': 'no image with the same name',
      'masks/img_002.png': expect.stringMatching(/mask is 16×32, its image .*img_002\.png is 32×32/),
      'masks/img_003.png': 'holds class index 7, beyond the 3 labels',
      'masks/img_004.png': 'not a PNG file',
    });
    expect(scan.train.length + scan.val.length).toBe(5);
    expect(scan.problems).toEqual([]);
  });

  it('tells a segmentation folder from a folder of class folders', async () => {
    const seg = tempDir();
    await makeSegmentationDataset(seg, { layout: 'images-masks', count: 2, classes: 2, size: 32 });
    const cls = tempDir();
    await makeDataset(cls, { classes: 2, perClass: 2, size: 32 });
    expect(isSegmentationFolder(seg)).toBe(true);
    expect(isSegmentationFolder(cls)).toBe(false);
  });
});
