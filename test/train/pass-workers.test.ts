// A run's pass size is the run's (issue 23): run.json records the worker count its steps are cut for, from the
// device it first started on, and a resume keeps it whatever device it resumes on (the bit-for-bit resumes are
// test/device/train-on-workers.test.ts). A hand-broken count is one error naming the file and the field.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { LocalDevice } from '../../src/device/device.ts';
import { passImages } from '../../src/device/parallel.ts';
import { FILES, readRun } from '../../src/run/index.ts';
import { runTraining } from '../../src/train/index.ts';
import { tinyDataset, tinyRun } from './helpers.ts';

beforeAll(async () => { await initBackend('wasm'); });

describe("a run's pass size", () => {
  it('is one thread\'s passes for one worker, the workers\' share for more, never more than memory holds', () => {
    expect(passImages(16, 1, Infinity)).toBe(16);
    expect(passImages(16, 1, 10)).toBe(10);
    expect(passImages(16, 2, Infinity)).toBe(8);
    expect(passImages(16, 2, 10)).toBe(4);
    expect(passImages(5, 2, Infinity)).toBe(3);
  });

  it('is recorded at the first start (a resume keeps it: train-on-workers.test.ts); a broken record is one clear error', async () => {
    const data = await tinyDataset({ classes: 2, perClass: 4 });
    const { dir } = tinyRun(data, { epochs: 1, batchSize: 4, valFraction: 0.25 });
    const first = await runTraining(dir, { device: new LocalDevice('wasm') });
    expect(first.status, first.error ?? '').toBe('finished');
    expect(readRun(dir).passWorkers).toBe(1);

    const path = join(dir, FILES.run);
    const record = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...record, status: 'stopped', passWorkers: 'two' }));
    const broken = await runTraining(dir);
    expect(broken.status).toBe('failed');
    expect(broken.error).toBe(`${path}: passWorkers must be a whole number from 1 to 256, got "two"`);
  }, 120_000);
});
