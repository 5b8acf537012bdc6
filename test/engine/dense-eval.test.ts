// eval.run through the studio service and the real engine on a segmentation run and a detection run (run folders
// made here, as the training loop leaves them, on generated datasets): each answers its task's evaluation, equal to
// the task's own evaluation of the run in this process (what `eval --run --json` prints), a segmentation run's with
// its pixel confusion and its worst images as thumbnails, with progress on the way; a detection run's scan is kept
// for the ground truth of the images the window opens next.
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { stateDict } from '../../src/model/weights.ts';
import { DetectPredictResult, EvalResult } from '../../src/protocol/inspection.ts';
import { CheckpointStore, createRun, readRun, updateRun } from '../../src/run/index.ts';
import { StudioService } from '../../src/service/service.ts';
import { evaluateDetectionRun } from '../../src/train/detection-eval-run.ts';
import { evaluateSegmentationRun } from '../../src/train/segmentation-eval-run.ts';
import { scanForDetection } from '../../src/train/tasks/detection.ts';
import { scanForSegmentation } from '../../src/train/tasks/segmentation.ts';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';
import { tempDir, watchService } from './fixtures/studio.ts';

const tmp = tempDir('dense-eval-engine-');
const workspace = join(tmp.dir, 'ws');
const SIZE = 64;
let service: StudioService;
let ok: ReturnType<typeof watchService>['ok'];
let seen: ReturnType<typeof watchService>['seen'];

/** A finished run of `task` on `data` whose best checkpoint holds `model`. */
function runOf(task: 'segmentation' | 'detection', data: string, model: SegmentationModel | DetectionModel, classes: string[]): { id: string; dir: string } {
  const run = createRun({ data, task, variant: 'mobilevit_xxs', imageSize: SIZE, epochs: 1, batchSize: 2, lr: 0.001, seed: 1, valFraction: 0.25 }, { workspace });
  new CheckpointStore(join(run.dir, 'checkpoints')).save('best', 1, stateDict(model), null, {}, { variant: model.variant });
  updateRun(run.dir, { classes, status: 'finished' });
  model.dispose();
  return run;
}

beforeAll(async () => {
  await initBackend('cpu');
  service = new StudioService({ mode: 'cli', workspace });
  ({ ok, seen } = watchService(service));
  await service.handle('settings.set', { backend: 'cpu' });
});
afterAll(async () => {
  await service.close();
  tmp.remove();
});

describe('eval.run on segmentation and detection runs', () => {
  it('a segmentation run: mIoU, accuracies, per-class IoU and the pixel confusion as its task evaluates them, and the worst images', async () => {
    const data = join(tmp.dir, 'masks');
    await makeSegmentationDataset(data, { layout: 'images-masks', count: 8, classes: 3, size: 48, labels: true });
    const { classes } = await scanForSegmentation({ data, valFraction: 0.25, seed: 1 });
    const { id, dir } = runOf('segmentation', data, new SegmentationModel('deeplabv3_mobilevit_xxs', classes.length, 7), classes);
    const r = EvalResult.parse(await ok('eval.run', { runId: id }));
    if (r.task !== 'segmentation') throw new Error(`a ${r.task} evaluation`);
    const here = await evaluateSegmentationRun(dir, readRun(dir), { checkpoint: 'best' });
    // The inference runtime rule decides (train/dense-inference.ts): two small images are too little work to leave TF.js.
    expect(r).toMatchObject({ runId: id, checkpoint: 'best', classes, count: here.count, imageSize: SIZE, runtime: 'tfjs', runtimeNote: expect.stringMatching(/^TF.js on \w+ in this process \(too little work to measure the runtimes\)$/) });
    expect(r.count).toBe(2);
    expect(r.miou).toBeCloseTo(here.miou, 9);
    expect([r.pixelAccuracy, r.meanClassAccuracy, r.loss]).toEqual([here.pixelAccuracy, here.meanClassAccuracy, here.loss].map((v) => expect.closeTo(v, 9)));
    expect(r.perClassIou).toEqual(here.perClassIou.map((v) => (v === null ? null : expect.closeTo(v, 9))));
    expect(r.confusion).toEqual(here.confusion);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(r.pixels);
    // Both validation images, lowest mIoU first, each a file of the dataset with its mask and a thumbnail.
    expect(r.worstImages.map((w) => [w.file, w.mask, w.miou])).toEqual(here.worstImages.map((w) => [w.file, w.mask, expect.closeTo(w.miou, 9)]));
    expect(r.worstImages).toHaveLength(2);
    expect(r.worstImages[0].miou).toBeLessThanOrEqual(r.worstImages[1].miou);
    for (const w of r.worstImages) {
      expect(existsSync(w.file) && existsSync(w.mask)).toBe(true);
      expect(w.thumbnail).toMatch(/^data:image\/(png|jpeg|webp);base64,/);
    }
    expect(seen.some((e) => e.event === 'progress' && e.payload.task === 'eval.run' && e.payload.label === 'preparing the images')).toBe(true);
  }, 180_000);

  it('a detection run: COCO\'s scores as its task evaluates them', async () => {
    const data = join(tmp.dir, 'boxes');
    await makeDetectionDataset(data, { layout: 'yolo', count: 8, classes: 2, size: SIZE });
    const { classes, val } = await scanForDetection({ data, valFraction: 0.25, seed: 1 });
    const { id, dir } = runOf('detection', data, new DetectionModel('ssdlite_mobilevit_xxs', classes.length + 1, 5), classes);
    const r = EvalResult.parse(await ok('eval.run', { runId: id, checkpoint: 'best' }));
    if (r.task !== 'detection') throw new Error(`a ${r.task} evaluation`);
    const here = await evaluateDetectionRun(dir, readRun(dir), { checkpoint: 'best' });
    expect(r).toMatchObject({ runId: id, task: 'detection', classes, count: 2, imageSize: SIZE });
    expect([r.map, r.ap50, r.ap75, r.loss]).toEqual([here.map, here.ap50, here.ap75, here.loss].map((v) => expect.closeTo(v, 9)));
    expect(r.perClassAp).toHaveLength(classes.length);
    expect(r.precisionAt50).toHaveLength(classes.length);
    // The images with the most misses (an untrained detector has some), as the task lists them, each with its picture.
    expect(r.mostMissed.length).toBeGreaterThan(0);
    expect(r.mostMissed.map(({ thumbnail: _t, ...m }) => m)).toEqual(here.mostMissed);
    expect([r.missScore, r.imagesWithMisses]).toEqual([here.missScore, here.imagesWithMisses]);
    for (const m of r.mostMissed) expect(m.thumbnail).toMatch(/^data:image\/\w+;base64,/);
    // The window opens a most-missed image next: its boxes come from the scan the evaluation made (the labels are
    // gone since, so a fresh scan would find none).
    const missed = val.find((img) => resolve(img.image) === resolve(r.mostMissed[0].file))!;
    expect(missed.boxes.length).toBeGreaterThan(0);
    rmSync(join(data, 'labels'), { recursive: true });
    const opened = DetectPredictResult.parse(await ok('inspect.predict', { model: { runId: id }, image: { path: r.mostMissed[0].file } }));
    expect(opened.groundTruth?.map((b) => b.box)).toEqual(missed.boxes.map(({ box: [x, y, w, h] }) => [x, y, x + w, y + h]));
  }, 180_000);
});
