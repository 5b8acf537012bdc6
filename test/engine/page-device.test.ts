// The studio with a page backend chosen in Settings (threaded wasm in headless Chromium): the engine opens it at
// start and reports it, and a run trains on it; evaluation, prediction, attention and the profile then compute
// there too. Needs Chromium (skipped without it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioService } from '../../src/service/service.ts';
import type { EventName } from '../../src/protocol/contract.ts';
import { makeDataset } from '../helpers/dataset.ts';
import { tempDir, waitFor } from './fixtures/studio.ts';

const chromium = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].some((p) => p && existsSync(p));

let tmp: ReturnType<typeof tempDir>;
let service: StudioService;
let data: { root: string; files: { path: string }[] };
const seen: { event: EventName; payload: any }[] = [];

beforeAll(async () => {
  tmp = tempDir();
  data = await makeDataset(join(tmp.dir, 'data'), { classes: 2, perClass: 6, size: 32 });
  service = new StudioService({ mode: 'cli', workspace: join(tmp.dir, 'ws') });
  service.on((event, payload) => seen.push({ event, payload }));
});
afterAll(async () => {
  await service?.close();
  tmp.remove();
});

const ok = async (method: string, params: unknown = {}) => {
  const r = await service.handle(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.code}: ${r.error.message}`);
  return r.result as any;
};

describe.skipIf(!chromium)('a page device chosen in Settings', () => {
  it('trains, evaluates, predicts, attends and profiles in the page', async () => {
    await ok('settings.set', { backend: 'wasm-threads' });
    const { runId } = await ok('train.start', { settings: { data: data.root, imageSize: 32, epochs: 1, batchSize: 4 } });
    const info = await ok('app.info');
    expect(info.backend).toMatchObject({ active: 'wasm-threads', gpu: false, reason: 'wasm-threads: chosen in Settings', device: { name: 'wasm-threads', host: expect.stringMatching(/^headless Chromium \d+/) } });
    await waitFor(() => (service.activeRun() === null ? true : undefined), 120_000, 'the run to end');
    const detail = await ok('runs.get', { runId });
    expect(detail.run.status, detail.run.error ?? undefined).toBe('finished');
    expect(detail.backend).toBe('wasm-threads');

    const evaluation = await ok('eval.run', { runId });
    expect(evaluation.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBeGreaterThan(0);
    const predicted = await ok('inspect.predict', { model: { runId }, image: { path: data.files[0].path } });
    expect(predicted.top5.reduce((s: number, t: { prob: number }) => s + t.prob, 0)).toBeCloseTo(1, 4);
    const attention = await ok('inspect.attention', { model: { runId }, image: { path: data.files[0].path }, imageSize: 64, patch: [1, 1] });
    expect(attention.grid).toEqual([4, 4]);
    expect(attention.map.flat().reduce((s: number, v: number) => s + v, 0)).toBeCloseTo(1, 4);
    const profile = await ok('inspect.profile', { variant: 'mobilevit_xxs', imageSize: 32, runs: 1 });
    expect(profile.device).toMatch(/^wasm-threads in headless Chromium/);
  });
});
