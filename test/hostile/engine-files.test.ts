// The real engine given hostile paths: a FIFO as the image and /dev/zero as the weights fail at once with a
// clear error, and the engine goes on serving (before, a FIFO wedged every later inspection).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineHandle } from '../../src/service/engine-handle.ts';
import { forkEngine } from '../../src/service/engine-process.ts';
import { drawClassImage, encode } from '../helpers/dataset.ts';
import type { ClassPredictResult } from '../../src/protocol/inspection.ts';

const dir = mkdtempSync(join(tmpdir(), 'mvit-engine-hostile-'));
const fifo = join(dir, 'photo.png');
const image = join(dir, 'ok.png');
const model = { kind: 'weights' as const, variant: 'mobilevit_xxs' as const, numClasses: 3, labels: ['a', 'b', 'c'] };
let host: EngineHandle;

beforeAll(async () => {
  execFileSync('mkfifo', [fifo]);
  writeFileSync(image, await encode(drawClassImage(1, 3, 48, 7), 48, 48, 'png'));
  host = new EngineHandle(() => forkEngine(), () => 'wasm');
});
afterAll(() => {
  host.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('engine with hostile paths', () => {
  it('a FIFO as the image fails at once, and the engine keeps serving', async () => {
    await host.call('predict', { model, image: { path: image }, imageSize: 64 }); // started and warm
    const start = Date.now();
    await expect(host.call('predict', { model, image: { path: fifo }, imageSize: 64 }))
      .rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/photo\.png: a named pipe \(FIFO\), not a regular file/) });
    await expect(host.call('attention', { model, image: { path: fifo }, imageSize: 64, block: 0, layer: 0, head: 'mean', patch: [0, 0], pixel: 'mean' }))
      .rejects.toMatchObject({ message: expect.stringMatching(/named pipe/) });
    expect(Date.now() - start).toBeLessThan(5000);
    const ok = await host.call('predict', { model, image: { path: image }, imageSize: 64 });
    expect((ok as ClassPredictResult).top5).toHaveLength(3);
  }, 60_000);

  it('weights /dev/zero and a labels/classes mismatch fail at once with one clear line', async () => {
    const start = Date.now();
    await expect(host.call('predict', { model: { kind: 'weights', variant: 'mobilevit_xxs', weights: '/dev/zero' }, image: { path: image } }))
      .rejects.toMatchObject({ code: 'failed', message: '/dev/zero: a device, not a regular file (expected a safetensors file)' });
    await expect(host.call('predict', { model: { ...model, numClasses: 4 }, image: { path: image }, imageSize: 64 }))
      .rejects.toMatchObject({ message: '3 labels for 4 classes' });
    expect(Date.now() - start).toBeLessThan(5000);
    expect(host.state).toBe('ready');
  }, 60_000);
});
