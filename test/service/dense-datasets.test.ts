// The window's dataset requests on segmentation and detection folders: dataset.scan summarises a folder of images
// and masks (or boxes) by its own task's scan (pixel shares, boxes per class), and train.start refuses a run whose
// folder cannot train its task before a run folder exists.
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StudioService } from '../../src/service/service.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';
import { spawnFakeEngine, tempDir } from '../engine/fixtures/studio.ts';

let ws: ReturnType<typeof tempDir>;
let service: StudioService;

beforeEach(() => {
  ws = tempDir();
  service = new StudioService({ mode: 'cli', workspace: ws.dir, spawnEngine: spawnFakeEngine });
});
afterEach(async () => {
  await service.close();
  ws.remove();
});

const call = (method: string, params: unknown) => service.handle(method, params);

describe('dataset requests on segmentation and detection folders', () => {
  it('summarises images and masks with each class\'s share of the labelled pixels', async () => {
    const root = join(ws.dir, 'shapes-seg');
    await makeSegmentationDataset(root, { layout: 'images-masks', count: 8, classes: 3, size: 32, labels: true });
    const r = await call('dataset.scan', { path: root });
    if (!r.ok) throw new Error(r.error.message);
    const scan = r.result as any;
    expect(scan.task).toBe('segmentation');
    expect(scan.totalImages).toBe(8);
    expect(scan.classes.map((c: any) => c.name)).toEqual(['background', 'shape1', 'shape2']);
    const shares = scan.classes.map((c: any) => c.pixelShare);
    for (const s of shares) expect(s).toBeGreaterThan(0);
    expect(shares.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 6);
    expect(scan.problems).toEqual([]);
  });

  it('summarises a YOLO folder with the boxes of each class', async () => {
    const root = join(ws.dir, 'shapes-yolo');
    await makeDetectionDataset(root, { layout: 'yolo', count: 8, classes: 2, size: 64 });
    const r = await call('dataset.scan', { path: root });
    if (!r.ok) throw new Error(r.error.message);
    const scan = r.result as any;
    expect(scan.task).toBe('detection');
    expect(scan.classes.map((c: any) => c.name)).toEqual(['red', 'green']);
    expect(scan.classes.every((c: any) => c.total > 0 && c.pixelShare === undefined)).toBe(true);
  });

  it('refuses a segmentation run on class folders before its run folder exists, in the task\'s words', async () => {
    const ds = await makeDataset(join(ws.dir, 'classes'), { classes: 2, perClass: 2, size: 32 });
    const r = await call('train.start', { settings: { data: ds.root, task: 'segmentation', epochs: 1 } });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('invalid_request');
      expect(r.error.message).toMatch(/cannot be used for segmentation/);
    }
    const runs = join(ws.dir, 'runs');
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([]);
  });
});
