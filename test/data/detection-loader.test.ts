// Detection batches (src/data/detection-loader.ts) from a generated YOLO folder: each image's boxes come out
// moved with its pixels and go through the caller's encoder into the batch's labels; an epoch's batches depend
// on the seed only (a resumed epoch's tail is the same); the evaluation set keeps the boxes as scanned.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/data/buffer-pool.ts';
import { DEFAULT_DETECTION_AUGMENT, type DetectionSample } from '../../src/data/detection-augment.ts';
import { buildDetectionSet, detectionEvalBatches, detectionTrainBatches } from '../../src/data/detection-loader.ts';
import { scanDetection, type DetectionScan } from '../../src/data/detection-scan.ts';
import type { Batch } from '../../src/data/loader.ts';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';

let root: string;
let scan: DetectionScan;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'detload-'));
  await makeDetectionDataset(join(root, 'yolo'), { layout: 'yolo', count: 8, classes: 2, size: 48 });
  scan = await scanDetection(join(root, 'yolo'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sampler = { baseSize: 32, batchSize: 2, multiScale: false, seed: 4 };
/** An encoder that keeps what it saw: the first box's corners (×1000, rounded) and the box count, in 6 labels. */
const encode = (s: DetectionSample) => Int32Array.from([s.labels.length, ...Array.from(s.boxes.subarray(0, 4), (v) => Math.round(v * 1000)), s.labels[0] ?? 0]);

async function all(gen: AsyncGenerator<Batch>): Promise<{ labels: number[]; x: number[]; indices: number[] }[]> {
  const out = [];
  for await (const b of gen) {
    out.push({ labels: Array.from(b.labels), x: Array.from(b.x.subarray(0, 50)), indices: Array.from(b.indices) });
    b.release();
  }
  return out;
}

describe('detectionTrainBatches', () => {
  it('encodes every image\'s moved boxes into its row of labels, the same for the same seed, and from a resume position', async () => {
    const opts = { sampler, epoch: 1, augment: DEFAULT_DETECTION_AUGMENT, encode };
    const a = await all(detectionTrainBatches(scan.train, { ...opts, buffers: new BufferPool() }));
    const b = await all(detectionTrainBatches(scan.train, { ...opts, buffers: new BufferPool() }));
    expect(b).toEqual(a);
    expect(a).toHaveLength(3); // 6 training images, 2 a batch
    for (const batch of a) {
      expect(batch.labels).toHaveLength(2 * 6);
      for (let j = 0; j < 2; j++) {
        const [count, x0, y0, x1, y1, label] = batch.labels.slice(6 * j, 6 * j + 6);
        expect(count).toBeGreaterThan(0); // SSD's crop keeps a box's centre
        expect([x0, y0]).toEqual([expect.any(Number), expect.any(Number)]);
        expect(x1).toBeGreaterThan(x0);
        expect(y1).toBeGreaterThan(y0);
        expect(Math.min(x0, y0)).toBeGreaterThanOrEqual(0);
        expect(Math.max(x1, y1)).toBeLessThanOrEqual(1000);
        expect([1, 2]).toContain(label);
      }
    }
    const tail = await all(detectionTrainBatches(scan.train, { ...opts, startBatch: 1, buffers: new BufferPool() }));
    expect(tail).toEqual(a.slice(1));
    const other = await all(detectionTrainBatches(scan.train, { ...opts, epoch: 2, buffers: new BufferPool() }));
    expect(other).not.toEqual(a);
  });

  it('refuses a resume position outside the epoch', () => {
    expect(() => detectionTrainBatches(scan.train, { sampler, epoch: 0, startBatch: 9, augment: DEFAULT_DETECTION_AUGMENT, encode, buffers: new BufferPool() }))
      .toThrow(/startBatch 9 is outside epoch 0, which has 3 batches/);
  });
});

describe('buildDetectionSet / detectionEvalBatches', () => {
  it('resizes each validation image once and batches them in order, the boxes kept as scanned', async () => {
    const set = await buildDetectionSet(scan.val, 32);
    expect(set.images).toBe(scan.val);
    expect(set.pixels.map((p) => p.length)).toEqual(scan.val.map(() => 32 * 32 * 3));
    const batches = await all(detectionEvalBatches(set, 1));
    expect(batches.map((b) => b.indices)).toEqual([[0], [1]]);
    expect(batches[0].labels).toEqual([]);
  });
});
