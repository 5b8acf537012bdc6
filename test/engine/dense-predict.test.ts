// inspect.predict through the studio service and the real engine on a segmentation run and a detection run (run
// folders made here, as the training loop leaves them): the class map at the photo's own size equal to the
// network's logits upsampled and argmaxed, with each class's share; the boxes above the threshold asked for, in the
// photo's pixels, equal to the detector's post-processing; for an image of the detection run's dataset, its boxes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { RgbImage } from '../../src/data/decode.ts';
import { decodeIndexMask, encodeIndexMask } from '../../src/data/mask-png.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { stateDict } from '../../src/model/weights.ts';
import { DetectPredictResult, SegmentPredictResult } from '../../src/protocol/inspection.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { StudioService } from '../../src/service/service.ts';
import { drawDetectionSample, makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { referenceClassMap, referenceDetections, writePhoto } from '../helpers/dense-predictions.ts';
import { tempDir, watchService } from './fixtures/studio.ts';

const tmp = tempDir('dense-predict-engine-');
const workspace = join(tmp.dir, 'ws');
const photo = join(tmp.dir, 'photo.png');
const [WIDTH, HEIGHT] = [72, 52];
let image: RgbImage;
let service: StudioService;
let ok: ReturnType<typeof watchService>['ok'];

/** A finished run of `task` in the workspace whose best checkpoint holds `model`, named in its metadata as the loop names it. */
function runOf(task: 'segmentation' | 'detection', model: SegmentationModel | DetectionModel, classes: string[], imageSize: number): string {
  const { id, dir } = createRun({ data: join(tmp.dir, task), task, variant: 'mobilevit_xxs', imageSize, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 }, { workspace });
  new CheckpointStore(join(dir, 'checkpoints')).save('best', 1, stateDict(model), null, {}, { variant: model.variant });
  updateRun(dir, { classes, status: 'finished' });
  return id;
}

beforeAll(async () => {
  await initBackend('cpu');
  image = await writePhoto(photo, WIDTH, HEIGHT);
  service = new StudioService({ mode: 'cli', workspace });
  ({ ok } = watchService(service));
  await service.handle('settings.set', { backend: 'cpu' });
});
afterAll(async () => {
  await service.close();
  tmp.remove();
});

describe('inspect.predict on segmentation and detection runs', () => {
  it('a segmentation run: the class map at the photo\'s size as a palette PNG, equal to the network\'s, and the class shares', async () => {
    const model = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 21);
    const runId = runOf('segmentation', model, ['background', 'leaf', 'stem'], 64);
    const expected = await referenceClassMap(model, image, 64);
    model.dispose();
    const r = SegmentPredictResult.parse(await ok('inspect.predict', { model: { runId }, image: { path: photo } }));
    expect(r).toMatchObject({ task: 'segmentation', width: WIDTH, height: HEIGHT, imageSize: 64, recordedImageSize: 64 });
    const map = decodeIndexMask(Buffer.from(r.classMap.slice(r.classMap.indexOf(',') + 1), 'base64'));
    expect([map.width, map.height]).toEqual([WIDTH, HEIGHT]);
    expect(Array.from(map.data)).toEqual(Array.from(expected));
    expect(r.classes.map((c) => [c.label, c.colour])).toEqual([['background', [0, 0, 0]], ['leaf', [128, 0, 0]], ['stem', [0, 128, 0]]]); // VOC's palette
    r.classes.forEach((c) => expect(c.share).toBeCloseTo(expected.filter((v) => v === c.index).length / expected.length, 12));

    // With the image's mask: it comes back in the same palette, and the prediction is scored against it by hand's rule.
    const truth = Uint8Array.from(expected, (v, i) => (i % WIDTH < WIDTH / 2 ? 1 : i % 7 === 0 ? 255 : v));
    const maskFile = join(tmp.dir, 'photo-mask.png');
    writeFileSync(maskFile, encodeIndexMask({ width: WIDTH, height: HEIGHT, data: truth }));
    const g = SegmentPredictResult.parse(await ok('inspect.predict', { model: { runId }, image: { path: photo }, mask: { path: maskFile } })).groundTruth!;
    expect(decodeIndexMask(Buffer.from(g.classMap.slice(g.classMap.indexOf(',') + 1), 'base64')).data).toEqual(truth);
    const iou = [0, 1, 2].map((c) => {
      let [inter, union] = [0, 0];
      truth.forEach((t, i) => {
        if (t === 255) return;
        if (t === c && expected[i] === c) inter++;
        if (t === c || expected[i] === c) union++;
      });
      return union ? inter / union : null;
    });
    iou.forEach((v, c) => (v === null ? expect(g.perClassIou[c]).toBeNull() : expect(g.perClassIou[c]).toBeCloseTo(v, 12)));
    const labelled = truth.filter((t) => t !== 255).length;
    expect(g.pixelAccuracy).toBeCloseTo(truth.filter((t, i) => t !== 255 && t === expected[i]).length / labelled, 12);
    const small = join(tmp.dir, 'small-mask.png');
    writeFileSync(small, encodeIndexMask({ width: 8, height: 8, data: new Uint8Array(64) }));
    const wrong = await service.handle('inspect.predict', { model: { runId }, image: { path: photo }, mask: { path: small } });
    expect(wrong.ok).toBe(false);
    expect(wrong.ok ? '' : wrong.error.message).toMatch(/small-mask\.png: the mask is 8×8 but its image is 72×52/);
  }, 120_000);

  it('a detection run: the boxes above the threshold asked for, in the photo\'s pixels, named by the run\'s classes', async () => {
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 3, 5);
    const runId = runOf('detection', model, ['cat', 'dog'], 128);
    const want = await referenceDetections(model, image, 128, 0.34);
    model.dispose();
    const r = DetectPredictResult.parse(await ok('inspect.predict', { model: { runId }, image: { path: photo }, scoreThreshold: 0.34 }));
    expect(r).toMatchObject({ task: 'detection', width: WIDTH, height: HEIGHT, imageSize: 128, scoreThreshold: 0.34 });
    expect(r.detections.length).toBeGreaterThan(0);
    expect(r.detections.map((d) => d.label)).toEqual(Array.from(want.labels, (l) => ['background', 'cat', 'dog'][l]));
    expect(r.detections.map((d) => d.colour)).toEqual(Array.from(want.labels, (l) => [[128, 0, 0], [0, 128, 0]][l - 1])); // VOC's, as predict --out draws
    r.detections.forEach((d, i) => {
      expect(d.score).toBeCloseTo(want.scores[i], 5);
      const scale = [WIDTH, HEIGHT, WIDTH, HEIGHT];
      d.box.forEach((v, k) => expect(v).toBeCloseTo(Math.min(scale[k], Math.max(0, want.boxes[4 * i + k] * scale[k])), 3));
    });
    expect(r.groundTruth).toBeUndefined(); // the photo is not one of the run's dataset's
  }, 120_000);

  it('a detection run asked about an image of its dataset by path: that image\'s boxes beside the detections; dropped, none', async () => {
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 3, 5);
    const runId = runOf('detection', model, ['cat', 'dog'], 64);
    model.dispose();
    await makeDetectionDataset(join(tmp.dir, 'detection'), { layout: 'yolo', count: 4, classes: 2, size: 64 });
    const file = join(tmp.dir, 'detection', 'images', 'val', 'img_003.png'); // the 4th image: two boxes, classes 1 then 0
    const r = DetectPredictResult.parse(await ok('inspect.predict', { model: { runId }, image: { path: file } }));
    const drawn = drawDetectionSample(3, 2, 64).boxes;
    expect(r.groundTruth).toEqual(drawn.map(({ box: [x, y, w, h], cls }) => ({
      index: cls + 1, label: ['cat', 'dog'][cls], crowd: false, colour: [[128, 0, 0], [0, 128, 0]][cls], box: [x, y, x + w, y + h].map((v) => expect.closeTo(v, 4)),
    })));
    const dropped = `data:image/png;base64,${readFileSync(file).toString('base64')}`;
    expect(DetectPredictResult.parse(await ok('inspect.predict', { model: { runId }, image: { dataUrl: dropped } })).groundTruth).toBeUndefined();
  }, 120_000);
});
