// The run the Train view follows: its settings form, its live curves (from 'train.event'), and the
// start/stop/pause/resume actions. Which run and form a window opens on is train-view.svelte.ts's: a run
// still training, else the one the view showed last; it is replayed from its metrics.
import {
  TrainSettings,
  isTerminalEvent,
  statusAfter,
  type RunStatus,
  type TaskName,
  type TrainEvent,
  type TrainSettingsInput,
} from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { variantLabel } from '../lib/format.ts';
import { networkFor } from '../lib/networks.ts';
import { RunSeries } from '../lib/series.ts';
import { studio } from './studio.svelte.ts';

/** The recipe's defaults come from the contract's schema, so the form and the CLI agree. */
export const DEFAULTS: TrainSettings = TrainSettings.parse({ data: '.' });

export type TrainForm = Omit<TrainSettings, 'data' | 'weights'> & { weights: string };

function defaultForm(): TrainForm {
  const { data: _data, weights: _weights, ...rest } = DEFAULTS;
  return { ...rest, augmentation: { ...rest.augmentation }, weights: '' };
}

class Training {
  form = $state<TrainForm>(defaultForm());
  runId = $state<string | null>(null);
  runName = $state<string | null>(null);
  /** The task of the run shown: its curves plot top-1, mIoU or mAP. */
  runTask = $state<TaskName>('classification');
  /**
   * The form's task was picked by the user: it stays when another folder is opened. Otherwise the task follows the
   * kind of dataset the opened folder is (the scan's task).
   */
  taskInsisted = $state(false);
  status = $state<RunStatus | null>(null);
  /** The studio says the run can continue from a checkpoint (Resume is offered only then). */
  resumable = $state(false);
  /** The studio has confirmed how the run ended (status and resumable are final). */
  settled = $state(false);
  /**
   * Replaced (reactively) when another run is followed; within a run the curves grow in place, without
   * proxies (chart.js reads the arrays directly), and revision says when they changed.
   */
  series = $state.raw<RunSeries>(new RunSeries());
  revision = $state(0);
  busy = $state(false);
  problem = $state.raw<Problem | null>(null);
  private replaying: TrainEvent[] | null = null;
  /** While train.start is in flight the new run's id is unknown, but its first events may already come. */
  private early: Map<string, TrainEvent[]> | null = null;

  init(): void {
    studio.on('train.event', ({ runId, event }) => {
      if (this.early && runId !== this.runId) {
        const list = this.early.get(runId) ?? [];
        list.push(event);
        this.early.set(runId, list);
        return;
      }
      if (runId !== this.runId) return;
      if (this.replaying) this.replaying.push(event);
      else this.apply(event);
    });
    // The studio sends the run's settled record after its terminal event: status and resumability.
    studio.on('run.status', ({ runId, status, error, resumable }) => {
      if (runId !== this.runId) return;
      // A 'running' sent as the run started can arrive after a run that ended at once: it is stale.
      if (status === 'running' && this.series.progress.state !== 'running' && this.series.progress.state !== 'idle') return;
      this.status = status;
      this.resumable = resumable;
      this.settled = status !== 'running';
      if (status === 'failed' && error) this.problem = { title: 'The run failed', message: error, hint: this.failHint() };
    });
  }

  /** Mutated in place: the form component holds on to this object. */
  resetForm(): void {
    Object.assign(this.form, defaultForm());
  }

  /** The settings the form describes, as train.start will receive them. */
  settingsFor(data: string): TrainSettingsInput {
    const { weights, ...rest } = this.form;
    return { ...rest, data, ...(weights.trim() ? { weights: weights.trim() } : {}) };
  }

  /** Checks the form against the contract's schema: field path ('augmentation.colorJitter') → message. */
  validate(data: string): Record<string, string> {
    const r = TrainSettings.safeParse(this.settingsFor(data || '.'));
    const errors: Record<string, string> = {};
    if (!r.success) for (const i of r.error.issues) errors[i.path.join('.')] ??= i.message;
    // The schema lets a lone head train on a random backbone (the CLI notes it); in the window, Quick without
    // weights means the download or import has not happened yet, so the run waits for it.
    if (this.form.headOnly && !this.form.weights.trim()) {
      errors.weights ??= 'Quick starts from pretrained weights: download or import them here, or choose From scratch';
    }
    return errors;
  }

  /** Follows a run: replays what it has logged so far, then applies live events. */
  async follow(runId: string): Promise<void> {
    this.runId = runId;
    this.series = new RunSeries();
    this.revision++;
    this.replaying = [];
    try {
      const detail = await studio.request('runs.get', { runId });
      const series = new RunSeries(detail.events);
      const lastTime = detail.events.length ? detail.events[detail.events.length - 1].time : -Infinity;
      for (const e of this.replaying) if (e.time > lastTime) series.add(e);
      this.series = series;
      this.status = detail.run.status;
      this.resumable = detail.run.resumable;
      this.runName = detail.run.name;
      this.runTask = detail.run.settings.task;
    } catch (e) {
      this.problem = toProblem(e, 'Could not load the run');
    } finally {
      this.replaying = null;
      this.revision++;
    }
  }

  async start(data: string): Promise<void> {
    const input = this.settingsFor(data);
    const previous = this.runId;
    // Clear the previous run's curves now, so nothing on screen belongs to it while the new one starts.
    this.series = new RunSeries();
    this.status = null;
    this.resumable = false;
    this.settled = false;
    this.revision++;
    this.early = new Map();
    const started = await this.act(async () => {
      // A readable default name; the Runs view renames.
      const f = this.form;
      const name = `${variantLabel(networkFor(f.task, f.variant))} · ${f.imageSize} px${f.multiScale ? ' multi-scale' : ''} · ${f.epochs} epoch${f.epochs === 1 ? '' : 's'}`;
      const { runId } = await studio.request('train.start', { settings: input, name });
      this.runId = runId;
      this.runName = name;
      this.runTask = f.task;
      this.status = 'running';
      this.series = new RunSeries(this.early?.get(runId) ?? []);
      this.revision++;

    }, 'Could not start training');
    this.early = null;
    // Refused before it existed: the run shown before is shown again, as it was.
    if (!started && previous) await this.follow(previous);
  }

  stop = () => this.control('train.stop', 'Could not stop the run');
  pause = () => this.control('train.pause', 'Could not pause the run');
  resume = () => this.control('train.resume', 'Could not resume the run');

  private async control(name: 'train.stop' | 'train.pause' | 'train.resume', what: string): Promise<void> {
    const runId = this.runId;
    if (!runId) return;
    await this.act(async () => {
      const run = await studio.request(name, { runId });
      this.status = run.status;
      this.resumable = run.status !== 'running' && run.resumable;
      this.runName = run.name;
    }, what);
  }

  /** Runs `fn` with the view busy; false when it failed (the problem is shown). */
  private async act(fn: () => Promise<void>, what: string): Promise<boolean> {
    this.busy = true;
    this.problem = null;
    try {
      await fn();
      return true;
    } catch (e) {
      this.problem = toProblem(e, what);
      return false;
    } finally {
      this.busy = false;
    }
  }

  private apply(e: TrainEvent): void {
    this.series.add(e);
    if (e.type === 'started') {
      this.resumable = false;
      this.settled = false;
    }
    if (isTerminalEvent(e)) this.status = statusAfter(e);
    else if (e.type === 'started') this.status = 'running';
    if (e.type === 'failed') this.problem = { title: 'The run failed', message: e.error, hint: this.failHint() };
    this.revision++;
  }

  private failHint(): string {
    return 'The last good checkpoint is kept: fix the cause, then press Resume to continue from it.';
  }
}

export const training = new Training();
