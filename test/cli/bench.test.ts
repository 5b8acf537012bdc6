// `bench`: the speed a user's machine gives, as one JSON line, with every tensor released.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { runCli } from '../helpers/cli.ts';
import { measureSpeed } from '../../src/train/speed.ts';

beforeAll(async () => { await initBackend('wasm'); });

const cli = runCli;

describe('bench command', () => {
  it.each(['inference', 'training'])('%s: prints the median and images/s as one JSON line', async (mode) => {
    const r = await cli('bench', '--variant', 'mobilevit_xxs', '--mode', mode, '--image-size', '32', '--batch-size', '2', '--runs', '2', '--backend', 'wasm', '--json');
    expect(r.code, r.err.join('\n')).toBe(0);
    const line = JSON.parse(r.lines.at(-1)!);
    expect(Object.keys(line).sort()).toEqual(['adapter', 'backend', 'batchSize', 'device', 'imageSize', 'imagesPerSec', 'medianMs', 'mode', 'runs', 'software', 'variant', 'workers']);
    expect(line).toMatchObject({ variant: 'mobilevit_xxs', mode, imageSize: 32, batchSize: 2, backend: 'wasm', workers: 1, runs: 2, device: 'wasm in this process', adapter: null, software: false });
    expect(line.medianMs).toBeGreaterThan(0);
    expect(line.imagesPerSec).toBeCloseTo((2 * 1000) / line.medianMs, 1);
  });

  it('wasm-workers: reports its worker threads (MOBILEVIT_WORKERS of them); a bad MOBILEVIT_WORKERS is one line naming it', async () => {
    const before = process.env.MOBILEVIT_WORKERS;
    try {
      process.env.MOBILEVIT_WORKERS = '3'; // not this machine's core count: the count the variable names
      const r = await cli('bench', '--variant', 'mobilevit_xxs', '--mode', 'training', '--image-size', '32', '--batch-size', '4', '--runs', '1', '--backend', 'wasm-workers', '--json');
      expect(r.code, r.err.join('\n')).toBe(0);
      const line = JSON.parse(r.lines.at(-1)!);
      expect(line).toMatchObject({ mode: 'training', batchSize: 4, backend: 'wasm-workers', workers: 3, runs: 1, adapter: '3 threads, data parallel', software: false });
      expect(line.imagesPerSec).toBeGreaterThan(0);
      process.env.MOBILEVIT_WORKERS = 'abc';
      const bad = await cli('bench', '--variant', 'mobilevit_xxs', '--mode', 'training', '--image-size', '32', '--batch-size', '4', '--runs', '1', '--backend', 'wasm-workers', '--json');
      expect(bad.code).toBe(1);
      expect(bad.lines).toEqual([]);
      expect(bad.err).toEqual(['mobilevit-studio bench: MOBILEVIT_WORKERS must be a whole number from 1 to 256 (0: off), got "abc"']);
    } finally {
      if (before === undefined) delete process.env.MOBILEVIT_WORKERS;
      else process.env.MOBILEVIT_WORKERS = before;
    }
  }, 120_000);

  it('refuses a bad mode or size with one line', async () => {
    expect((await cli('bench', '--variant', 'mobilevit_xxs', '--mode', 'fast')).err.at(-1)).toMatch(/--mode must be inference or training/);
    expect((await cli('bench', '--variant', 'mobilevit_xxs', '--image-size', '16')).err.at(-1)).toMatch(/--image-size must be between 32 and 1024/);
  });

  it('leaves no tensor behind', async () => {
    const before = tf.memory().numTensors;
    await measureSpeed({ variant: 'mobilenet_v2', mode: 'training', imageSize: 32, batchSize: 2, runs: 1, numClasses: 3 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
