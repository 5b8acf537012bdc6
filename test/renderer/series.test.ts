// The renderer's event folding: curves, progress and ETA from a run's training events, including a run
// that resumed from a checkpoint (points past the checkpoint are dropped and replaced).
import { describe, expect, it } from 'vitest';
import type { TrainEvent } from '../../src/protocol/contract.ts';
import { RunSeries } from '../../renderer/src/lib/series.ts';

const started = (time: number, step: number, resumed = false): TrainEvent => ({
  type: 'started', time, epoch: 1 + Math.floor(step / 4), step, totalEpochs: 2, stepsPerEpoch: 4, totalSteps: 8, resumed, backend: 'wasm',
});
const step = (time: number, s: number, loss: number): TrainEvent => ({
  type: 'step', time, epoch: 1 + Math.floor((s - 1) / 4), step: s, loss, lr: 0.001 * s, imagesPerSec: 10, dataWaitMs: 1, resolution: 32, batchSize: 16,
});
const epoch = (time: number, e: number, valTop1: number): TrainEvent => ({
  type: 'epoch', time, epoch: e, step: e * 4, train: { loss: 2 - e * 0.1, top1: 0.3 * e }, val: { loss: 2.1 - e * 0.1, top1: valTop1 },
});

describe('RunSeries', () => {
  it('folds steps and epochs into curves with epochs counted from 1', () => {
    const s = new RunSeries([started(0, 0), step(1000, 1, 1.6), step(2000, 2, 1.5), step(3000, 3, 1.4), step(4000, 4, 1.3), epoch(4100, 1, 0.4)]);
    expect(s.curves.trainLoss.map((p) => p.y)).toEqual([1.6, 1.5, 1.4, 1.3]);
    expect(s.curves.lr.map((p) => p.x)).toEqual([1, 2, 3, 4]);
    expect(s.curves.valTop1).toEqual([{ x: 1, y: 0.4 }]);
    expect(s.curves.valLoss).toEqual([{ x: 4, y: 2.0 }]); // on the step axis
    expect(s.curves.valLossByEpoch).toEqual([{ x: 1, y: 2.0 }]); // on the epoch axis
    expect(s.progress.epoch).toBe(1);
    expect(s.progress.fraction).toBe(0.5);
    expect(s.progress.state).toBe('running');
  });

  it('estimates the time left from the step rate of this session', () => {
    const s = new RunSeries([started(0, 0), step(1000, 1, 1.6), step(3000, 2, 1.5), step(5000, 3, 1.4)]);
    // 2 s per step since the first step, 5 steps left.
    expect(s.progress.etaSeconds).toBeCloseTo(10, 5);
    s.add({ type: 'finished', time: 6000, epoch: 2, step: 8, val: null });
    expect(s.progress.etaSeconds).toBe(0);
    expect(s.progress.fraction).toBe(1);
    expect(s.progress.state).toBe('finished');
  });

  it('drops points past the checkpoint when a run resumes, in the arrays the charts hold', () => {
    const s = new RunSeries([
      started(0, 0), step(1, 1, 1.6), step(2, 2, 1.5), step(3, 3, 1.4), step(4, 4, 1.3), epoch(5, 1, 0.4),
      step(6, 5, 1.2), step(7, 6, 1.1), // then killed: the last checkpoint is at step 4
    ]);
    const held = s.curves.trainLoss;
    s.add(started(100, 4, true));
    s.add(step(101, 5, 1.25));
    expect(s.curves.trainLoss).toBe(held);
    expect(s.curves.trainLoss.map((p) => [p.x, p.y])).toEqual([[1, 1.6], [2, 1.5], [3, 1.4], [4, 1.3], [5, 1.25]]);
    expect(s.curves.valTop1).toEqual([{ x: 1, y: 0.4 }]);
  });

  it('reports a failure and a pause', () => {
    const s = new RunSeries([started(0, 0), { type: 'stopped', time: 1, epoch: 1, step: 0, reason: 'pause' }]);
    expect(s.progress.state).toBe('paused');
    s.add({ type: 'failed', time: 2, error: 'loss became NaN at step 3' });
    expect(s.progress.state).toBe('failed');
    expect(s.progress.error).toBe('loss became NaN at step 3');
    expect(s.progress.etaSeconds).toBeNull();
  });
});
