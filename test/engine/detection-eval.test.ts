// eval.run of a detection run through the studio service and the real engine (the run folder made here, as the
// training loop leaves it): COCO's scores with the per-class AP and precision curves, and the images with the most
// misses as the Detect view lists them: files of the run's validation set, worst first, each with a thumbnail.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { stateDict } from '../../src/model/weights.ts';
import { EvalResult } from '../../src/protocol/inspection.ts';
import { CheckpointStore, createRun, updateRun } from '../../src/run/index.ts';
import { StudioService } from '../../src/service/service.ts';
import { makeDetectionDataset } from '../helpers/detection-dataset.ts';
import { tempDir, watchService } from './fixtures/studio.ts';

const tmp = tempDir('detection-eval-engine-');
const workspace = join(tmp.dir, 'ws');
const data = join(tmp.dir, 'boxes');
let service: StudioService;
let ok: ReturnType<typeof watchService>['ok'];

beforeAll(async () => {
  await initBackend('cpu');
  // 8 images: 2 in val (img_003 with two boxes, img_007 with two).
  await makeDetectionDataset(data, { layout: 'yolo', count: 8, classes: 2, size: 64 });
  service = new StudioService({ mode: 'cli', workspace });
  ({ ok } = watchService(service));
  await service.handle('settings.set', { backend: 'cpu' });
});
afterAll(async () => {
  await service.close();
  tmp.remove();
});

describe('eval.run on a detection run', () => {
  it('answers COCO\'s scores, the curves, and the images with the most misses with their thumbnails', async () => {
    // An untrained detector of 2 classes: at 64 px its scores hover near a third, so it misses and invents boxes.
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 3, 3);
    const { id: runId, dir } = createRun({ data, task: 'detection', variant: 'mobilevit_xxs', imageSize: 64, epochs: 1, batchSize: 2, lr: 0.001, seed: 1 }, { workspace });
    new CheckpointStore(join(dir, 'checkpoints')).save('best', 1, stateDict(model), null, {}, { variant: model.variant });
    model.dispose();
    updateRun(dir, { classes: ['red', 'green'], status: 'finished' });
    const r = EvalResult.parse({ runId, ...(await ok('eval.run', { runId })) });
    if (r.task !== 'detection') throw new Error(`a ${r.task} result`);
    expect(r).toMatchObject({ count: 2, classes: ['red', 'green'], missScore: 0.3 });
    expect(r.perClassAp).toHaveLength(2);
    expect(r.precisionAt50.map((c) => c?.length)).toEqual([101, 101]);
    const val = ['img_003.png', 'img_007.png'].map((f) => join(data, 'images', 'val', f));
    expect(r.mostMissed.length).toBe(r.imagesWithMisses);
    expect(r.mostMissed.length).toBeGreaterThan(0);
    for (const m of r.mostMissed) {
      expect(val).toContain(m.file);
      expect(m.boxes).toBe(2);
      expect(m.missed + m.falsePositives).toBeGreaterThan(0);
      expect(m.thumbnail).toMatch(/^data:image\/\w+;base64,/);
    }
    const worst = r.mostMissed.map((m) => m.missed + m.falsePositives);
    expect(worst).toEqual([...worst].sort((a, b) => b - a));
  }, 120_000);
});
