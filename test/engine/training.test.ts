// The studio service driving the real engine through a training run: live events, a kill -9 of the
// engine mid-run (the run is marked failed with the reason and stays resumable, the studio keeps
// answering), then resume to the end.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioService } from '../../src/service/service.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { tempDir, waitFor, watchService } from './fixtures/studio.ts';

let tmp: ReturnType<typeof tempDir>;
let service: StudioService;
let data: string;
let seen: ReturnType<typeof watchService>['seen'];
let ok: ReturnType<typeof watchService>['ok'];
let trainEvents: ReturnType<typeof watchService>['trainEvents'];
let resumeToEnd: ReturnType<typeof watchService>['resumeToEnd'];

beforeAll(async () => {
  tmp = tempDir();
  data = (await makeDataset(join(tmp.dir, 'data'), { classes: 2, perClass: 8, size: 32 })).root;
  service = new StudioService({ mode: 'cli', workspace: join(tmp.dir, 'ws') });
  ({ seen, ok, trainEvents, resumeToEnd } = watchService(service));
  await service.handle('settings.set', { backend: 'wasm' });
});
afterAll(async () => {
  await service.close();
  tmp.remove();
});

describe('training through the engine', () => {
  let runId: string;

  it('survives an engine crash mid-run: the run fails with the reason and stays resumable', async () => {
    ({ runId } = await ok('train.start', { settings: { data, imageSize: 32, epochs: 3, batchSize: 4 }, name: 'crashy' }));
    await waitFor(() => (trainEvents(runId).some((e) => e.type === 'checkpoint' && e.kind === 'last') ? true : undefined), 60_000, 'a last checkpoint');
    process.kill(service.engine.pid!, 'SIGKILL');
    const status = await waitFor(() => seen.find((e) => e.event === 'run.status' && e.payload.runId === runId && e.payload.status === 'failed')?.payload, 10_000, 'failed');
    expect(status.error).toMatch(/killed by SIGKILL/);
    const { runs } = await ok('runs.list');
    expect(runs[0]).toMatchObject({ id: runId, name: 'crashy', status: 'failed', resumable: true });
    // Before its first step the run said what it was preparing, as progress the window shows.
    const prep = seen.filter((e) => e.event === 'progress' && e.payload.task === 'train.prepare' && e.payload.id === runId).map((e) => e.payload);
    expect(prep.map((p) => p.label)).toContain('checking images');
    expect(prep.map((p) => p.label)).toContain('decoding training images');
    expect(prep.every((p) => p.done <= p.total)).toBe(true);
  });

  it('resumes from the checkpoint to the end', async () => {
    const resumed = await resumeToEnd(runId, 120_000);
    expect(resumed[0]).toMatchObject({ type: 'started', resumed: true });
    expect(resumed.at(-1)).toMatchObject({ type: 'finished' });
    const detail = await ok('runs.get', { runId });
    expect(detail.run).toMatchObject({ status: 'finished', epochsDone: 3, error: null });
    expect(detail.events.filter((e: any) => e.type === 'epoch').map((e: any) => e.epoch)).toEqual([1, 2, 3]);
  });

  it('inspects the trained run', async () => {
    const file = join(data, 'class_1', (await import('node:fs')).readdirSync(join(data, 'class_1'))[0]);
    const p = await ok('inspect.predict', { model: { runId }, image: { path: file } });
    expect(p).toMatchObject({ imageSize: 32, recordedImageSize: 32 }); // the run's recipe: its training size
    expect(p.top5.map((t: any) => t.label).sort()).toEqual(['class_0', 'class_1']);
    const a = await ok('inspect.attention', { model: { runId }, image: { path: file }, block: 0, layer: 0, head: 0, patch: [0, 0] });
    expect(a).toMatchObject({ imageSize: 32, recordedImageSize: 32 });
    // A size asked for wins, and the result still says the run's, so the window can warn about the difference.
    expect(await ok('inspect.predict', { model: { runId }, image: { path: file }, imageSize: 64 })).toMatchObject({ imageSize: 64, recordedImageSize: 32 });
    expect(a.map.flat().reduce((s: number, v: number) => s + v, 0)).toBeCloseTo(1, 4);
  });

  it('evaluates the run on its validation images, with the misclassified ones as thumbnails', async () => {
    const e = await ok('eval.run', { runId, maxMisclassified: 1 });
    const detail = await ok('runs.get', { runId });
    const valCount = detail.dataset.valCount;
    expect(e.classes).toEqual(['class_0', 'class_1']);
    expect(e.confusion.flat().reduce((s: number, v: number) => s + v, 0)).toBe(valCount);
    const wrong = valCount - e.confusion[0][0] - e.confusion[1][1];
    expect(e.misclassifiedTotal).toBe(wrong);
    expect(e.misclassified).toHaveLength(Math.min(1, wrong));
    for (const m of e.misclassified) expect(m.thumbnail).toMatch(/^data:image\/jpeg;base64,/);
    expect(seen.some((x) => x.event === 'progress' && x.payload.task === 'eval.run')).toBe(true);
    // The inference runtime rule: a few small images are too little work to leave TF.js on the engine's device.
    expect(e.runtime).toBe('tfjs');
    expect(e.runtimeNote).toMatch(/^TF.js on .* \(too little work to measure the runtimes\)$/);
  });
});
