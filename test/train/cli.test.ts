// The train/eval/resume commands' errors (one line, non-zero exit, before any work) and how the
// terminal report renders events.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { TrainReporter, formatDuration } from '../../src/train/console-report.ts';
import { createRun, updateRun } from '../../src/run/index.ts';
import { runCli } from '../helpers/cli.ts';

async function run(args: string[]) {
  const r = await runCli(...args);
  return { code: r.code, out: r.lines, err: r.err };
}

describe('train / eval / resume errors', () => {
  const ws = mkdtempSync(join(tmpdir(), 'cli-ws-'));
  const cases: [string[], RegExp, number][] = [
    [['train'], /^mobilevit-studio train: --data is required$/, 2],
    [['train', '--data', '/no/such/folder', '--workspace', ws], /^mobilevit-studio train: dataset folder not found: \/no\/such\/folder$/, 2],
    [['train', '--data', ws, '--epochs', '0', '--workspace', ws], /--epochs must be a positive integer/, 2],
    [['train', '--data', ws, '--lr', '-1', '--workspace', ws], /^mobilevit-studio train: training settings: lr: /, 2],
    [['train', '--data', ws, '--variant', 'resnet50', '--workspace', ws], /unknown variant "resnet50"/, 2],
    [['train', '--data', ws, '--checkpoint-every', '0'], /--checkpoint-every must be a positive integer/, 2],
    [['eval'], /give --run DIR, or --weights FILE with --data DIR/, 2],
    [['eval', '--weights', 'w.safetensors'], /--weights needs --data DIR/, 2],
    [['eval', '--run', ws, '--checkpoint', 'first'], /--checkpoint must be best or last/, 2],
    [['resume'], /--run is required/, 2],
    [['resume', '--run', ws], /is not a run folder \(no run\.json\)/, 2],
  ];
  for (const [args, message, code] of cases) {
    it(`${args.join(' ')} → one line, exit ${code}`, async () => {
      const r = await run(args);
      expect(r.code).toBe(code);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(message);
    });
  }

  it('makes no run folder for flags it refuses', () => {
    expect(existsSync(join(ws, 'runs')) ? readdirSync(join(ws, 'runs')) : []).toEqual([]);
  });

  it('refuses to resume a finished run', async () => {
    const { dir } = createRun({ data: ws }, { workspace: ws });
    updateRun(dir, { status: 'finished' });
    const r = await run(['resume', '--run', dir]);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/has finished: there is nothing to resume/);
  });
});

describe('terminal report', () => {
  const started: TrainEvent = { type: 'started', time: 0, runId: 'r1', epoch: 1, step: 0, totalEpochs: 3, totalSteps: 30, stepsPerEpoch: 10, resumed: false, backend: 'wasm' };
  const step = (n: number, loss: number): TrainEvent => ({
    type: 'step', time: n * 2000, epoch: 1, step: n, loss, lr: 1e-3, imagesPerSec: 16, dataWaitMs: 1, resolution: 128, batchSize: 32, acc: 0.5, batch: n, batches: 10,
  });

  it('with --json prints every event as one JSON line and nothing else', () => {
    const out: string[] = [], err: string[] = [];
    const r = new TrainReporter({ out: (l) => out.push(l), err: (l) => err.push(l), bar: () => { throw new Error('no bar with --json'); } }, true);
    r.event(started);
    r.event(step(1, 2));
    r.prepare('cache', 1, 2);
    expect(out.map((l) => JSON.parse(l).type)).toEqual(['started', 'step']);
    expect(err).toEqual([]);
  });

  it('draws a bar with smoothed loss, accuracy, images/s and an ETA, and prints epochs and the summary', () => {
    const out: string[] = [], err: string[] = [], bars: string[] = [];
    const r = new TrainReporter({ out: (l) => out.push(l), err: (l) => err.push(l), bar: (t) => bars.push(t), clearBar: () => {} }, false);
    r.event(started);
    r.event(step(5, 1.5));
    // 5 steps in 10 s → 2 s per step, 25 steps to go → 50 s.
    expect(bars.at(-1)).toBe('epoch 1/3 [##########..........] 5/10  loss 1.500  acc 50.0 %  16.0 images/s  128 px  ETA 50s');
    r.event({ type: 'epoch', time: 0, epoch: 1, step: 10, seconds: 75, train: { loss: 1.25, top1: 0.5 }, val: { loss: 1.1, top1: 0.625, top5: 0.9 } });
    r.event({ type: 'warning', time: 0, message: 'disk is full' });
    r.event({ type: 'finished', time: 0, epoch: 3, step: 30, val: { loss: 0.5, top1: 0.875 }, best: { epoch: 2, top1: 0.9, loss: 0.4 }, weights: '/w.safetensors' });
    expect(out).toEqual([
      'epoch 1/3  train loss 1.2500 acc 50.0 %  val loss 1.1000 top-1 62.5 % top-5 90.0 %  (1m15s)',
      'finished after 3 epochs: val top-1 87.5 %, loss 0.5000; best epoch 2 (top-1 90.0 %)\nweights: /w.safetensors',
    ]);
    expect(err).toEqual(['training run r1 at epoch 1/3, step 0/30 on wasm', 'warning: disk is full']);
  });

  it('reports a segmentation run in its terms: mIoU and pixel accuracy, the best epoch by mIoU', () => {
    const out: string[] = [];
    const r = new TrainReporter({ out: (l) => out.push(l), err: () => {}, clearBar: () => {} }, false);
    r.event(started);
    r.event({ type: 'epoch', time: 0, epoch: 1, step: 10, train: { loss: 1.25, top1: 0.5 }, val: { loss: 1.1, top1: 0.8, top5: null, miou: 0.425, pixelAccuracy: 0.8 } });
    r.event({ type: 'finished', time: 0, epoch: 1, step: 10, val: { loss: 1.1, top1: 0.8, miou: 0.425, pixelAccuracy: 0.8 }, best: { epoch: 1, top1: 0.8, loss: 1.1, miou: 0.425 } });
    expect(out).toEqual([
      'epoch 1/3  train loss 1.2500 acc 50.0 %  val loss 1.1000 mIoU 42.5 % pixel acc. 80.0 %',
      'finished after 1 epochs: val mIoU 42.5 % pixel acc. 80.0 %, loss 1.1000; best epoch 1 (mIoU 42.5 %)',
    ]);
  });

  it('formats durations', () => {
    expect([formatDuration(9.4), formatDuration(75), formatDuration(3725), formatDuration(NaN)]).toEqual(['9s', '1m15s', '1h02m', '?']);
  });
});
