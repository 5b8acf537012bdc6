// How the CLI shows a training run: with --json every event as one JSON line on stdout; otherwise a
// progress bar on a terminal's stderr (epoch, batch, loss, accuracy, images/s, ETA), one line per
// epoch on stdout, warnings on stderr, and a closing summary.
import { PREPARE_LABELS, type PrepareTask, type TrainEvent } from '../protocol/contract.ts';

export interface ReportIO {
  out(line: string): void;
  err(line: string): void;
  /** Redraws the one-line progress bar; absent when stderr is not a terminal. */
  bar?(text: string): void;
  /** Erases the bar so that a line can be printed. */
  clearBar?(): void;
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** An evaluation's headline numbers in its task's terms: mAP (detection), mIoU and pixel accuracy (segmentation), else top-1 and top-5. */
function scores(v: { top1: number; top5?: number | null; miou?: number; pixelAccuracy?: number; map?: number }): string {
  if (v.map !== undefined) return `mAP ${pct(v.map)}`;
  if (v.miou !== undefined) return `mIoU ${pct(v.miou)}${v.pixelAccuracy !== undefined ? ` pixel acc. ${pct(v.pixelAccuracy)}` : ''}`;
  return `top-1 ${pct(v.top1)}${v.top5 != null ? ` top-5 ${pct(v.top5)}` : ''}`;
}

export class TrainReporter {
  private totalEpochs = 0;
  private totalSteps = 0;
  private sessionStart = 0;
  private sessionFirstStep = 0;
  private smoothLoss: number | null = null;
  private smoothAcc: number | null = null;

  constructor(private readonly io: ReportIO, private readonly json: boolean) {}

  /** Handles one event; also used for preparation progress ('scan', 'cache', …) via prepare(). */
  event(e: TrainEvent): void {
    if (this.json) {
      this.io.out(JSON.stringify(e));
      return;
    }
    switch (e.type) {
      case 'started':
        this.totalEpochs = e.totalEpochs;
        this.totalSteps = e.totalSteps ?? e.totalEpochs * (e.stepsPerEpoch ?? 0);
        this.sessionStart = e.time;
        this.sessionFirstStep = e.step;
        this.line('err', `${e.resumed ? 'resuming' : 'training'} run ${e.runId ?? ''} at epoch ${e.epoch}/${e.totalEpochs}, step ${e.step}/${this.totalSteps} on ${e.backend ?? '?'}`);
        break;
      case 'step': {
        const k = 0.1; // smoothing of the displayed loss and accuracy
        this.smoothLoss = this.smoothLoss === null ? e.loss : this.smoothLoss + k * (e.loss - this.smoothLoss);
        if (e.acc !== undefined) this.smoothAcc = this.smoothAcc === null ? e.acc : this.smoothAcc + k * (e.acc - this.smoothAcc);
        if (!this.io.bar) break;
        const done = e.batch ?? 0, of = e.batches ?? 0;
        const width = 20;
        const filled = of ? Math.round((done / of) * width) : 0;
        const perStep = (e.time - this.sessionStart) / 1000 / Math.max(1, e.step - this.sessionFirstStep);
        const eta = formatDuration((this.totalSteps - e.step) * perStep);
        this.io.bar(`epoch ${e.epoch}/${this.totalEpochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${of}`
          + `  loss ${this.smoothLoss.toFixed(3)}${this.smoothAcc !== null ? `  acc ${pct(this.smoothAcc)}` : ''}`
          + `  ${e.imagesPerSec.toFixed(1)} images/s  ${e.resolution} px  ETA ${eta}`);
        break;
      }
      case 'epoch': {
        const val = e.val ? `  val loss ${e.val.loss.toFixed(4)} ${scores(e.val)}` : '';
        this.line('out', `epoch ${e.epoch}/${this.totalEpochs}  train loss ${e.train.loss.toFixed(4)} acc ${pct(e.train.top1)}${val}${e.seconds !== undefined ? `  (${formatDuration(e.seconds)})` : ''}`);
        break;
      }
      case 'warning':
        this.line('err', `warning: ${e.message}`);
        break;
      case 'checkpoint':
        break;
      case 'finished': {
        const val = e.val ? `val ${scores(e.val)}, loss ${e.val.loss.toFixed(4)}` : 'no validation set';
        const best = e.best ? `; best epoch ${e.best.epoch} (${scores(e.best)})` : '';
        this.line('out', `finished after ${e.epoch} epochs: ${val}${best}${e.weights ? `\nweights: ${e.weights}` : ''}`);
        break;
      }
      case 'stopped':
        this.line('err', `${e.reason === 'pause' ? 'paused' : 'stopped'} at step ${e.step}, checkpoint saved`);
        break;
      case 'failed':
        this.io.clearBar?.(); // the command prints the error itself, as its one line
        break;
    }
  }

  /** Progress of the preparation before the first step. */
  prepare(task: PrepareTask, done: number, total: number): void {
    if (this.json || !this.io.bar) return;
    this.io.bar(`${PREPARE_LABELS[task]} ${done}/${total}`);
  }

  private line(stream: 'out' | 'err', text: string): void {
    this.io.clearBar?.();
    this.io[stream](text);
  }
}
