// The detection dataset scan on folders the test writes: YOLO and COCO JSON, class names, boxes in pixels,
// crowd regions, negatives, and every bad box reported with its file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isDetectionFolder } from '../../src/data/dataset-kind.ts';
import { scanDetection } from '../../src/data/detection-scan.ts';
import { encode } from '../helpers/dataset.ts';

const made: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'detscan-'));
  made.push(d);
  return d;
};
afterEach(() => { for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true }); });

async function image(path: string, w: number, h: number): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, await encode(new Uint8Array(w * h * 3).fill(90), w, h, 'png'));
}

describe('scanDetection', () => {
  it('reads YOLO: names from data.yaml, normalised boxes to pixels, negatives, bad lines and classes reported', async () => {
    const root = tempDir();
    for (const split of ['train', 'val']) mkdirSync(join(root, 'labels', split), { recursive: true });
    await image(join(root, 'images', 'train', 'a.png'), 100, 50);
    await image(join(root, 'images', 'train', 'b.png'), 100, 50);
    await image(join(root, 'images', 'val', 'c.png'), 100, 50);
    writeFileSync(join(root, 'data.yaml'), 'path: .\nnames:\n  0: cat\n  1: dog\n');
    writeFileSync(join(root, 'labels', 'train', 'a.txt'), '1 0.5 0.5 0.2 0.4\n0 0.95 0.5 0.2 0.2\n5 0.5 0.5 0.1 0.1\n0 0.5 0.5 0 0.1\nhello\n');
    writeFileSync(join(root, 'labels', 'val', 'c.txt'), '0 0.25 0.25 0.5 0.5\n');
    const scan = await scanDetection(root);
    expect(scan.layout).toBe('yolo');
    expect(scan.classes).toEqual(['cat', 'dog']);
    const a = scan.train.find((i) => i.image.endsWith('a.png'))!;
    // dog at (0.5, 0.5) 0.2×0.4 of 100×50 → [40, 15, 20, 20]; the cat at x 0.95 is clipped at the right edge.
    expect(a.boxes).toEqual([{ box: [40, 15, 20, 20], label: 2, crowd: false }, { box: [85, 20, 15, 10], label: 1, crowd: false }]);
    expect(scan.negatives).toBe(1); // b.png has no label file
    expect(scan.val).toHaveLength(1);
    expect(scan.boxesPerClass).toEqual([1, 1]);
    const reasons = scan.skipped.map((s) => `${s.path.split('/').pop()}: ${s.reason}`);
    expect(reasons).toEqual([
      expect.stringMatching(/^a\.txt:2: a box .* reaches outside the 100×50 image and was clipped$/),
      'a.txt:3: class 5 is not one of the 2 names',
      expect.stringMatching(/^a\.txt:4: an empty or degenerate box/),
      'a.txt:5: not a "class cx cy w h" line',
    ]);
  });

  it('reads COCO JSON: contiguous classes in id order, pixel boxes, crowd regions kept apart, unknown categories reported', async () => {
    const root = tempDir();
    await image(join(root, 'train2017', 'x.png'), 64, 48);
    await image(join(root, 'train2017', 'y.png'), 64, 48);
    await image(join(root, 'val2017', 'z.png'), 64, 48);
    mkdirSync(join(root, 'annotations'));
    const cats = [{ id: 18, name: 'dog' }, { id: 1, name: 'person' }];
    writeFileSync(join(root, 'annotations', 'instances_train2017.json'), JSON.stringify({
      images: [{ id: 7, file_name: 'x.png' }, { id: 8, file_name: 'y.png' }],
      annotations: [
        { image_id: 7, category_id: 18, bbox: [10, 5, 20, 10], iscrowd: 0 },
        { image_id: 7, category_id: 1, bbox: [0, 0, 64, 48], iscrowd: 1 },
        { image_id: 8, category_id: 99, bbox: [1, 1, 5, 5] },
      ],
      categories: cats,
    }));
    writeFileSync(join(root, 'annotations', 'instances_val2017.json'), JSON.stringify({ images: [{ id: 1, file_name: 'z.png' }], annotations: [], categories: cats }));
    const scan = await scanDetection(root);
    expect(scan.layout).toBe('coco');
    expect(scan.classes).toEqual(['person', 'dog']);
    const x = scan.train.find((i) => i.image.endsWith('x.png'))!;
    expect(x.boxes).toEqual([{ box: [10, 5, 20, 10], label: 2, crowd: false }, { box: [0, 0, 64, 48], label: 1, crowd: true }]);
    expect(scan.boxesPerClass).toEqual([0, 1]);
    expect(scan.negatives).toBe(1);
    expect(scan.skipped.map((s) => s.reason)).toEqual(['category 99 is not in the file\'s categories']);
    expect(scan.val.map((i) => i.image.split('/').pop())).toEqual(['z.png']);
  });

  it('tells detection folders from others', async () => {
    const yolo = tempDir();
    mkdirSync(join(yolo, 'images'));
    mkdirSync(join(yolo, 'labels'));
    const plain = tempDir();
    mkdirSync(join(plain, 'cats'));
    expect(isDetectionFolder(yolo)).toBe(true);
    expect(isDetectionFolder(plain)).toBe(false);
  });
});
