// `npm run bench -- segmentation | detection` (bench/dense.ts) at the smallest settings: every part runs, the two
// runtimes agree on the network they timed, the tables and the JSON say what was measured, nothing leaks.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { benchDense, denseFlags } from '../../bench/dense.ts';
import { TASK_BENCHES, type DenseTask } from '../../bench/dense-tasks.ts';

beforeAll(async () => { await initBackend('wasm'); });
afterEach(() => { vi.restoreAllMocks(); });

describe('dense benchmarks', () => {
  it.each([['segmentation', 'deeplabv3_mobilevit_xxs'], ['detection', 'ssdlite_mobilevit_xxs']] as const)('%s: inference beside onnxruntime, training images/s and the kernel split', async (task: DenseTask, network) => {
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { printed.push(a.join(' ')); });
    const out = join(mkdtempSync(join(tmpdir(), 'dense-bench-')), `${task}.json`);
    const before = tf.memory().numTensors;
    const r = await benchDense(task, { variants: [network], size: 64, runs: 1, setupBatches: [1, 3], trainSize: 64, batch: 2, steps: 1, top: 5, out });
    expect(tf.memory().numTensors).toBe(before);

    expect(r.inference).toHaveLength(1);
    const [inf] = r.inference;
    expect(inf).toMatchObject({ network, size: 64 });
    expect(inf.tfjsMs).toBeGreaterThan(0);
    expect(inf.ortMs).toBeGreaterThan(0);
    expect(Math.abs(inf.tfjsOverOrt / (inf.tfjsMs / inf.ortMs) - 1)).toBeLessThan(0.05); // of the unrounded medians
    expect(inf.tfjsCpuMs).toBeGreaterThan(0);
    expect(inf.ortCpuMs).toBeGreaterThan(0);
    expect(inf.tfjsTimes).toHaveLength(1);
    expect(inf.maxAbsDiff).toBeLessThan(1e-3); // the same network and weights on both sides

    // onnxruntime's one session against the studio's worker sessions (3 images: parts of 2 and 1), the same outputs.
    expect(r.ortSetups.map((s) => [s.network, s.batch, s.threads])).toEqual([[network, 1, 2], [network, 3, 2]]);
    for (const s of r.ortSetups) {
      expect(s.sessionMs).toBeGreaterThan(0);
      expect(s.workersMs).toBeGreaterThan(0);
      expect(s.workersTimes).toHaveLength(1);
      expect(s.maxAbsDiff).toBeLessThan(1e-5);
    }

    const [wasm, workers] = r.training;
    expect(wasm).toMatchObject({ network, backend: 'wasm', size: 64, batch: 2 });
    expect(wasm.imagesPerSec).toBeCloseTo(2000 / wasm.medianMs!, 1);
    expect(wasm.medianCpuMs).toBeGreaterThan(0);
    expect(wasm.workers).toBe(1);
    expect(workers.backend).toBe('wasm-workers');
    // Measured as a run trains there (both tasks take wasm-workers), or said why not where the device cannot open.
    if (workers.imagesPerSec === null) expect(workers.note).toMatch(/^wasm-workers cannot open here: /);
    else {
      expect(workers.workers).toBeGreaterThan(1);
      expect(workers.imagesPerSec).toBeCloseTo(2000 / workers.medianMs!, 1);
      expect(workers.note).toContain("device's workers");
    }

    const k = r.kernels;
    expect(k.top.length).toBeGreaterThan(3);
    expect(k.top.map((x) => x.kernel)).not.toContain('unnamed scope');
    expect(k.top[0].share).toBeGreaterThan(0);
    expect(k.top.every((x, i) => x.share >= 0 && (i === 0 || x.ms <= k.top[i - 1].ms))).toBe(true);
    expect(k.kernelMs).toBeLessThanOrEqual(k.profiledStepMs * 1.05);

    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ task, settings: { inferenceSize: 64, trainSize: 64, batch: 2 }, inference: [{ network }] });
    const text = printed.join('\n');
    expect(text).toContain(`${task} inference, batch 1, 64×64`);
    expect(text).toContain('TF.js / onnxruntime');
    expect(text).toContain('one session on 2 intra-op threads');
    expect(text).toContain('session / workers');
    expect(text).toContain(workers.note);
    expect(text).toContain('share of the step');
  }, 300_000);

  it('reads --name=value flags and refuses others in one line', () => {
    const seg = TASK_BENCHES.segmentation;
    expect(denseFlags(['--variants=xxs,deeplabv3_mobilevit_s', '--runs=5', '--setup-batches=1,4', '--train-variant=xs', '--batch=4', '--out=bench/results/x.json'], seg))
      .toEqual({ variants: ['deeplabv3_mobilevit_xxs', 'deeplabv3_mobilevit_s'], runs: 5, setupBatches: [1, 4], trainVariant: 'mobilevit_xs', batch: 4, out: 'bench/results/x.json' });
    expect(() => denseFlags(['--out='], seg)).toThrow('--out needs a path');
    expect(() => denseFlags(['--runs', '5'], seg)).toThrow('--runs: write the segmentation bench\'s flags as --name=value (--runs=5)');
    expect(() => denseFlags(['--runs=0'], seg)).toThrow('--runs must be a whole number from 1, got "0"');
    expect(() => denseFlags(['--setup-batches=1,x'], seg)).toThrow('--setup-batches must be a whole number from 1, got "x"');
    expect(() => denseFlags(['--variants=ssdlite_mobilevit_xxs'], seg)).toThrow(/--variants: no segmentation network "ssdlite_mobilevit_xxs"/);
    expect(() => denseFlags(['--speed=1'], TASK_BENCHES.detection)).toThrow(/unknown flag --speed for the detection bench/);
  });
});
