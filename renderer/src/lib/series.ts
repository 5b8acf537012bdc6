// Folds a run's training events (live, or replayed from metrics.jsonl) into the curves and the progress
// figures the Train and Runs views draw. Pure and incremental: add() takes one event at a time.
import type { TrainEvent } from '../../../src/protocol/contract.ts';

export interface Point {
  x: number;
  y: number;
}

export interface RunCurves {
  /** Per step, x = global step. */
  trainLoss: Point[];
  lr: Point[];
  /** Per epoch, x = the step the epoch ended at (shares the loss chart's axis). */
  epochTrainLoss: Point[];
  valLoss: Point[];
  /** Per epoch, x = the epoch (counted from 1; comparable across runs with different batch sizes). */
  trainTop1: Point[];
  valTop1: Point[];
  trainLossByEpoch: Point[];
  valLossByEpoch: Point[];
  /** Per epoch, x = the epoch: a segmentation run's validation mIoU, a detection run's mAP (.50:.95) and AP50. */
  valMiou: Point[];
  valMap: Point[];
  valAp50: Point[];
}

export interface RunProgress {
  /** The epoch being trained (or just finished), counted from 1 as the events do. */
  epoch: number;
  totalEpochs: number | null;
  step: number;
  stepsPerEpoch: number | null;
  totalSteps: number | null;
  /** 0..1, null until the size of an epoch is known. */
  fraction: number | null;
  imagesPerSec: number | null;
  dataWaitMs: number | null;
  resolution: number | null;
  batchSize: number | null;
  etaSeconds: number | null;
  backend: string | null;
  lastLoss: number | null;
  lastLr: number | null;
  state: 'idle' | 'running' | 'finished' | 'stopped' | 'paused' | 'failed';
  error: string | null;
  warnings: string[];
}

export class RunSeries {
  /** Arrays are only ever appended to or truncated in place, never replaced. */
  readonly curves: RunCurves = {
    trainLoss: [], lr: [], epochTrainLoss: [], valLoss: [], trainTop1: [], valTop1: [], trainLossByEpoch: [], valLossByEpoch: [],
    valMiou: [], valMap: [], valAp50: [],
  };
  readonly progress: RunProgress = {
    epoch: 0, totalEpochs: null, step: 0, stepsPerEpoch: null, totalSteps: null, fraction: null, imagesPerSec: null,
    dataWaitMs: null, resolution: null, batchSize: null, etaSeconds: null, backend: null,
    lastLoss: null, lastLr: null, state: 'idle', error: null, warnings: [],
  };
  /** Step rate over the current session (since its first step), for the ETA. */
  private rateStart: { time: number; step: number } | null = null;
  private rateLast: { time: number; step: number } | null = null;
  private epochStartStep = 0;

  constructor(events: readonly TrainEvent[] = []) {
    for (const e of events) this.add(e);
  }

  add(e: TrainEvent): void {
    const p = this.progress;
    switch (e.type) {
      case 'started':
        p.state = 'running';
        p.error = null;
        p.epoch = e.epoch;
        p.step = e.step;
        p.totalEpochs = e.totalEpochs;
        p.stepsPerEpoch = e.stepsPerEpoch ?? p.stepsPerEpoch;
        p.totalSteps = e.totalSteps ?? p.totalSteps;
        p.backend = e.backend ?? p.backend;
        this.rateStart = null;
        this.rateLast = null;
        this.epochStartStep = e.step;
        // A resumed run replays from its checkpoint: drop points the checkpoint had not reached.
        if (e.resumed) this.truncateAfter(e.step);
        break;
      case 'step':
        p.state = 'running';
        p.epoch = e.epoch;
        p.step = e.step;
        p.imagesPerSec = e.imagesPerSec;
        p.dataWaitMs = e.dataWaitMs;
        p.resolution = e.resolution;
        p.batchSize = e.batchSize;
        p.lastLoss = e.loss;
        p.lastLr = e.lr;
        this.curves.trainLoss.push({ x: e.step, y: e.loss });
        this.curves.lr.push({ x: e.step, y: e.lr });
        // The first step of a session includes warm-up (kernel compilation): the rate starts after it.
        if (!this.rateStart) this.rateStart = { time: e.time, step: e.step };
        else this.rateLast = { time: e.time, step: e.step };
        break;
      case 'epoch':
        p.epoch = e.epoch;
        p.step = e.step;
        // Learn the epoch length from the first complete epoch when 'started' did not say.
        if (p.stepsPerEpoch == null && e.step > this.epochStartStep) p.stepsPerEpoch = e.step - this.epochStartStep;
        this.epochStartStep = e.step;
        this.curves.epochTrainLoss.push({ x: e.step, y: e.train.loss });
        this.curves.trainTop1.push({ x: e.epoch, y: e.train.top1 });
        this.curves.trainLossByEpoch.push({ x: e.epoch, y: e.train.loss });
        if (e.val) {
          this.curves.valLoss.push({ x: e.step, y: e.val.loss });
          this.curves.valTop1.push({ x: e.epoch, y: e.val.top1 });
          this.curves.valLossByEpoch.push({ x: e.epoch, y: e.val.loss });
          if (e.val.miou != null) this.curves.valMiou.push({ x: e.epoch, y: e.val.miou });
          if (e.val.map != null) this.curves.valMap.push({ x: e.epoch, y: e.val.map });
          if (e.val.ap50 != null) this.curves.valAp50.push({ x: e.epoch, y: e.val.ap50 });
        }
        break;
      case 'warning':
        p.warnings = [...p.warnings, e.message];
        break;
      case 'finished':
        p.state = 'finished';
        p.step = e.step;
        break;
      case 'stopped':
        p.state = e.reason === 'pause' ? 'paused' : 'stopped';
        break;
      case 'failed':
        p.state = 'failed';
        p.error = e.error;
        break;
      case 'checkpoint':
        break;
    }
    this.updateEstimates();
  }

  /** In place: charts hold on to these arrays. */
  private truncateAfter(step: number): void {
    const c = this.curves;
    const keep = (pts: Point[], max: number) => {
      const n = pts.findIndex((q) => q.x > max);
      if (n >= 0) pts.length = n; // points are in x order
    };
    for (const k of ['trainLoss', 'lr', 'epochTrainLoss', 'valLoss'] as const) keep(c[k], step);
    const lastEpoch = c.epochTrainLoss.length; // epochs completed at the checkpoint
    for (const k of ['trainTop1', 'valTop1', 'trainLossByEpoch', 'valLossByEpoch', 'valMiou', 'valMap', 'valAp50'] as const) keep(c[k], lastEpoch);
  }

  private updateEstimates(): void {
    const p = this.progress;
    const total = p.totalSteps ?? (p.totalEpochs != null && p.stepsPerEpoch != null ? p.totalEpochs * p.stepsPerEpoch : null);
    if (p.state === 'finished') p.fraction = 1;
    else if (total) p.fraction = Math.min(1, p.step / total);
    else if (p.totalEpochs) p.fraction = Math.min(1, Math.max(0, p.epoch - 1) / p.totalEpochs);
    if (p.state !== 'running') {
      p.etaSeconds = p.state === 'finished' ? 0 : null;
      return;
    }
    if (total && this.rateStart && this.rateLast && this.rateLast.step > this.rateStart.step) {
      const secPerStep = (this.rateLast.time - this.rateStart.time) / 1000 / (this.rateLast.step - this.rateStart.step);
      p.etaSeconds = Math.max(0, (total - p.step) * secPerStep);
    } else p.etaSeconds = null;
  }
}
