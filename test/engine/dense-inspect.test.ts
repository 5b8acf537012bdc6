// inspect.attention, inspect.receptiveField and inspect.profile through the studio service and the real engine on a
// segmentation run and a detection run (run folders made here, as the training loop leaves them, tiny XXS at 64 px):
// the attention of the backbone's MobileViT blocks with the run's class map or boxes from the same pass, fields after
// the ASPP and the extra layers, and profiles of the dense networks with their head's blocks labelled.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { stateDict } from '../../src/model/weights.ts';
import { AttentionResult, ProfileResult, ReceptiveFieldResult, SegmentPredictResult } from '../../src/protocol/inspection.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { StudioService } from '../../src/service/service.ts';
import { writePhoto } from '../helpers/dense-predictions.ts';
import { tempDir, watchService } from './fixtures/studio.ts';

const tmp = tempDir('dense-inspect-engine-');
const workspace = join(tmp.dir, 'ws');
const photo = join(tmp.dir, 'photo.png');
let service: StudioService;
let ok: ReturnType<typeof watchService>['ok'];

/** A finished run of `task` whose best checkpoint holds `model`, named in its metadata as the loop names it. */
function runOf(task: 'segmentation' | 'detection', model: SegmentationModel | DetectionModel, classes: string[]): string {
  const { id, dir } = createRun({ data: join(tmp.dir, task), task, variant: 'mobilevit_xxs', imageSize: 64, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 }, { workspace });
  new CheckpointStore(join(dir, 'checkpoints')).save('best', 1, stateDict(model), null, {}, { variant: model.variant });
  updateRun(dir, { classes, status: 'finished' });
  model.dispose();
  return id;
}

const total = (map: number[][]) => map.flat().reduce((s, v) => s + v, 0);

beforeAll(async () => {
  await initBackend('wasm');
  await writePhoto(photo, 72, 52);
  service = new StudioService({ mode: 'cli', workspace });
  ({ ok } = watchService(service));
  await service.handle('settings.set', { backend: 'wasm' });
});
afterAll(async () => {
  await service.close();
  tmp.remove();
});

describe('inspection of segmentation and detection runs in the engine', () => {
  it('a segmentation run: attention with the class map of the same pass, and a field after the ASPP', async () => {
    const runId = runOf('segmentation', new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 21), ['background', 'leaf', 'stem']);
    const a = AttentionResult.parse(await ok('inspect.attention', { model: { runId }, image: { path: photo }, block: 1, layer: 0, patch: [0, 1] }));
    expect(a).toMatchObject({ block: 1, imageSize: 64, recordedImageSize: 64, grid: [2, 2], top5: [] });
    expect(a.blocks.map((b) => b.name)).toEqual(['stages.2.1', 'stages.3.1', 'stages.4.1']);
    expect(total(a.map)).toBeCloseTo(1, 6);
    if (a.dense?.task !== 'segmentation') throw new Error(`expected the class map, got ${JSON.stringify(a.dense?.task)}`);
    expect(a.dense.picture).toMatch(/^data:image\/png;base64,/);
    expect(a.dense.classes.length).toBeGreaterThan(0);
    expect(a.dense.classes.reduce((s, c) => s + c.share, 0)).toBeCloseTo(1, 9);
    a.dense.classes.forEach((c) => expect(c.label).toBe(['background', 'leaf', 'stem'][c.index]));
    const f = ReceptiveFieldResult.parse(await ok('inspect.receptiveField', { model: { runId }, imageSize: 64, block: 11 }));
    expect(f.blocks).toMatchObject([{ index: 11, name: 'segmentation_head.aspp', featureSize: [4, 4] }]);
    // A pass over the wasm heap's limit is refused before it computes, planned on the backbone, as a classifier's is.
    const big = await service.handle('inspect.attention', { model: { runId }, image: { path: photo }, imageSize: 1024, block: 1, layer: 0, patch: [0, 1] });
    expect(big.ok ? '' : big.error.message).toMatch(/^inspect\.attention of deeplabv3_mobilevit_xxs at 1024 px needs about \d+ MB, over the wasm backend's limit of \d+ MB .*lower the image size to at most \d+ px/);
  }, 180_000);

  it('a detection run: attention with the boxes of the same pass (named by the run\'s classes)', async () => {
    const runId = runOf('detection', new DetectionModel('ssdlite_mobilevit_xxs', 3, 5), ['cat', 'dog']);
    const a = AttentionResult.parse(await ok('inspect.attention', { model: { runId }, image: { path: photo }, block: 0, patch: [3, 2] }));
    expect(a).toMatchObject({ block: 0, layer: null, grid: [4, 4], top5: [] });
    expect(total(a.map)).toBeCloseTo(1, 6);
    if (a.dense?.task !== 'detection') throw new Error(`expected boxes, got ${JSON.stringify(a.dense?.task)}`);
    expect(a.dense.scoreThreshold).toBe(0.3);
    a.dense.detections.forEach((d) => {
      expect(['cat', 'dog']).toContain(d.label);
      expect(d.score).toBeGreaterThan(0.3);
      d.box.forEach((v) => expect(v >= 0 && v <= 64).toBe(true));
    });
  }, 180_000);

  it('a network name with its weights file (the window\'s "variant + weights"): attention with the boxes, predict with the class map', async () => {
    const det = new DetectionModel('ssdlite_mobilevit_xxs', 3, 8);
    const detWeights = join(tmp.dir, 'det.safetensors');
    saveWeights(det, detWeights, { labels: JSON.stringify(['background', 'cat', 'dog']) });
    det.dispose();
    const a = AttentionResult.parse(await ok('inspect.attention', { model: { variant: 'ssdlite_mobilevit_xxs', weights: detWeights }, image: { path: photo }, imageSize: 64, patch: [1, 1] }));
    expect(a).toMatchObject({ imageSize: 64, recordedImageSize: 320, grid: [4, 4], top5: [] }); // 320: SSDLite's reference size
    expect(a.dense?.task).toBe('detection');
    if (a.dense?.task === 'detection') a.dense.detections.forEach((d) => expect(['cat', 'dog']).toContain(d.label));
    const seg = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 9);
    const segWeights = join(tmp.dir, 'seg.safetensors');
    saveWeights(seg, segWeights, {});
    seg.dispose();
    const p = SegmentPredictResult.parse(await ok('inspect.predict', { model: { variant: 'deeplabv3_mobilevit_xxs', weights: segWeights, labels: ['sky', 'road', 'car'] }, image: { path: photo }, imageSize: 64 }));
    expect(p.classes.map((c) => c.label)).toEqual(['sky', 'road', 'car']);
  }, 180_000);

  // (The ASPP's parts are checked through the CLI, test/inspect/dense-cli.test.ts: the same profile code.)
  it('profiles SSDLite by name: the extra layers and heads with the registry\'s labels; onnxruntime says it cannot', async () => {
    const det = ProfileResult.parse(await ok('inspect.profile', { variant: 'ssdlite_mobilevit_xxs', imageSize: 64, runs: 1 }));
    expect(det.variant).toBe('ssdlite_mobilevit_xxs');
    expect(det.blocks.filter((b) => b.name.startsWith('ssd_heads.')).map((b) => b.label)).toEqual(
      ['16', '32', '64', '128', '256'].map((s, l) => `Head of level ${l + 1} (stride ${s})`).concat('Head of level 6 (global)'));
    const ort = await service.handle('inspect.profile', { variant: 'ssdlite_mobilevit_xxs', imageSize: 64, runs: 1, runtime: 'onnxruntime' });
    expect(ort.ok ? '' : ort.error.message).toMatch(/onnxruntime profiles classifiers only, not ssdlite_mobilevit_xxs/);
    const big = await service.handle('inspect.profile', { variant: 'ssdlite_mobilevit_xxs', imageSize: 320, batch: 64, runs: 1 });
    expect(big.ok ? '' : big.error.message).toMatch(/^inspect\.profile of ssdlite_mobilevit_xxs at 320 px × batch 64 needs about \d+ MB.*lower the batch to at most \d+/);
  }, 180_000);
});
