// Issue 22 item 2, on the real engine process: a request whose pass would not fit the wasm heap is refused before
// it computes (the engine goes on), and an engine whose wasm heap aborts for real is recognised, reported and
// replaced at once, failing the run it trained, which resumes from its last checkpoint. The abort is the real one (memory access out of bounds, then Aborted()), provoked in seconds by
// the engine's test hook: MOBILEVIT_TEST_WASM_HEAP_LEFT_MB leaves that little of the heap free, unseen by the estimate.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EngineHandle, type EngineEvent } from '../../src/service/engine-handle.ts';
import { forkEngine } from '../../src/service/engine-process.ts';
import { StudioService } from '../../src/service/service.ts';
import { encode, drawClassImage, makeDataset } from '../helpers/dataset.ts';
import { tempDir, waitFor, watchService } from './fixtures/studio.ts';

let tmp: ReturnType<typeof tempDir>;
let image: string;
let host: EngineHandle | undefined;
const model = { kind: 'weights' as const, variant: 'mobilevit_xxs' as const, numClasses: 3, labels: ['a', 'b', 'c'] };

beforeAll(async () => {
  tmp = tempDir();
  image = join(tmp.dir, 'probe.png');
  writeFileSync(image, await encode(drawClassImage(1, 3, 48, 7), 48, 48, 'png'));
});
afterEach(() => host?.close());
afterAll(() => tmp.remove());

function start(env: NodeJS.ProcessEnv = process.env): { host: EngineHandle; events: EngineEvent[] } {
  host = new EngineHandle(() => forkEngine(undefined, env), () => 'wasm');
  const events: EngineEvent[] = [];
  host.onEvent((e) => events.push(e));
  return { host, events };
}

describe('memory budgets of requests', () => {
  it('refuses a 1024-px predict and an oversized profile before computing; the same engine answers on', async () => {
    const { host, events } = start();
    await host.call('predict', { model, image: { path: image }, imageSize: 64 });
    const pid = host.pid;
    await expect(host.call('predict', { model, image: { path: image }, imageSize: 1024 })).rejects.toMatchObject({
      code: 'failed',
      message: expect.stringMatching(/^inspect\.predict of mobilevit_xxs at 1024 px needs about \d+ MB, over the wasm backend's limit of \d+ MB .*lower the image size to at most \d+ px/),
    });
    await expect(host.call('profile', { variant: 'mobilevit_s', imageSize: 512, batch: 64, runs: 1 })).rejects.toMatchObject({
      code: 'failed', message: expect.stringMatching(/× batch 64 .*lower the batch to at most \d+/),
    });
    await expect(host.call('receptiveField', { model, imageSize: 512, seed: 1 })).resolves.toBeDefined();
    expect(host.pid).toBe(pid);
    expect(host.state).toBe('ready');
    expect(events.some((e) => e.kind === 'crashed')).toBe(false);
    await expect(host.call('predict', { model, image: { path: image }, imageSize: 64 })).resolves.toMatchObject({ imageSize: 64 });
  });
});

describe('an engine whose wasm heap aborted', () => {
  it('is recognised, reported and restarted at once; the fresh engine serves', async () => {
    // 24 MB free: a 64-px pass fits (about 7 MB), a 256-px one (about 100 MB) runs out of the heap for real.
    const { host, events } = start({ ...process.env, MOBILEVIT_TEST_WASM_HEAP_LEFT_MB: '24' });
    await host.call('predict', { model, image: { path: image }, imageSize: 64 });
    const pid = host.pid;
    await expect(host.call('predict', { model, image: { path: image }, imageSize: 256 })).rejects.toMatchObject({
      code: 'failed', message: expect.stringMatching(/memory access out of bounds|Aborted\(/),
    });
    // Replaced without waiting for another call: crashed (with the reason), then a fresh engine ready.
    await expect.poll(() => host.state === 'ready' && host.pid !== pid, { timeout: 60_000 }).toBe(true);
    const crashed = events.find((e) => e.kind === 'crashed') as Extract<EngineEvent, { kind: 'crashed' }> | undefined;
    expect(crashed?.reason).toMatch(/^the compute engine's WebAssembly heap aborted \(.*(memory access out of bounds|Aborted\().*\); it was restarted$/);
    const states = events.filter((e) => e.kind === 'status').map((e) => (e as Extract<EngineEvent, { kind: 'status' }>).state);
    expect(states.slice(states.indexOf('crashed'))).toEqual(['crashed', 'starting', 'ready']);
    expect(host.lastCrash).toBe(crashed!.reason);
    await expect(host.call('predict', { model, image: { path: image }, imageSize: 64 })).resolves.toMatchObject({ imageSize: 64 });
  });
});

describe('a run whose engine heap aborts mid-training', () => {
  it('is marked failed and resumable from its last checkpoint; the engine is replaced, and the run resumes to the end', async () => {
    const data = (await makeDataset(join(tmp.dir, 'data'), { classes: 2, perClass: 8, size: 32 })).root;
    // The first engine's heap fills after step 5 (an epoch is at most 4 steps, so a 'last' checkpoint exists): step 6 aborts.
    let spawns = 0;
    const service = new StudioService({
      mode: 'cli', workspace: join(tmp.dir, 'ws'),
      spawnEngine: () => forkEngine(undefined, spawns++ === 0
        ? { ...process.env, MOBILEVIT_TEST_WASM_HEAP_LEFT_MB: '0', MOBILEVIT_TEST_WASM_FILL_AFTER_STEP: '5' } : process.env),
    });
    const { seen, ok, trainEvents, resumeToEnd } = watchService(service);
    try {
      await ok('settings.set', { backend: 'wasm' });
      const { runId } = await ok('train.start', { settings: { data, imageSize: 32, epochs: 3, batchSize: 4 } });
      const trainingPid = service.engine.pid;
      const failed = await waitFor(() => seen.find((e) => e.event === 'run.status' && e.payload.runId === runId && e.payload.status === 'failed')?.payload, 180_000, 'the run to fail');
      expect(failed.error).toMatch(/^the wasm backend ran out of memory \(.*(memory access out of bounds|Aborted\().*\); .*resuming continues from the last checkpoint \(step [1-5]\)$/s);
      expect(failed.resumable).toBe(true);
      const steps = trainEvents(runId).filter((e) => e.type === 'step').map((e) => e.step);
      expect(Math.max(...steps)).toBe(5);
      // The engine that aborted is replaced at once: app.info says why, and a fresh engine is ready.
      await waitFor(() => (service.engine.state === 'ready' && service.engine.pid !== trainingPid ? true : undefined), 60_000, 'a fresh engine');
      const info = await ok('app.info');
      expect(info.engine).toMatchObject({ state: 'ready', lastCrash: expect.stringMatching(/WebAssembly heap aborted.*; it was restarted$/) });
      expect(seen.some((e) => e.event === 'engine.status' && e.payload.state === 'crashed' && /heap aborted/.test(e.payload.reason))).toBe(true);
      expect((await ok('runs.list')).runs[0]).toMatchObject({ id: runId, status: 'failed', resumable: true });

      const resumed = await resumeToEnd(runId, 180_000);
      expect(resumed[0]).toMatchObject({ type: 'started', resumed: true });
      expect(resumed.at(-1)).toMatchObject({ type: 'finished' });
      expect(spawns).toBe(2);
    } finally {
      await service.close();
    }
  });
});
