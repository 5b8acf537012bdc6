// The training loop of one run: prepares the data and the model, trains epoch by epoch, evaluates,
// checkpoints, and reports everything as TrainEvents. Starting fresh and resuming are the same
// call: when the run folder holds a 'last' checkpoint, training continues from it exactly.
//
// Determinism (what makes a resumed run match an uninterrupted one step for step): the sampler's
// plan and each image's augmentation are pure functions of (seed, epoch, position); dropout seeds
// are a pure function of (seed, step); the learning rate is a function of the position; the
// weights (BatchNorm statistics included), AdamW moments and step counts, EMA weights and the
// epoch's running train metrics are in the checkpoint. So the checkpoint's position is the whole
// state, and nothing else needs saving for a bit-identical continuation.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { planEpoch, samplerSizes, totalBatches, type SamplerConfig } from '../data/sampler.ts';
import type { Model } from '../model/index.ts';
import type { PrepareTask, RunStatus, TrainEvent, TrainSettings } from '../protocol/contract.ts';
import { checkSettings } from '../protocol/trainable.ts';
import {
  CheckpointError, CheckpointStore, EventSink, FILES, acquireRunLock, readRun, rewindEvents, updateRun, writeEvaluation, writeLabels,
  type FileWriter, type LoadedCheckpoint, type NewEvent, type RunRecord,
} from '../run/index.ts';
import { ADAMW, CHECKPOINT_EVERY_STEPS, EMA_DECAY, PREFETCH_BATCHES, WARMUP_START_LR } from './defaults.ts';
import { concrete, resolveRecipe, solvesHead } from '../protocol/recipe.ts';
import { imagesPerPass, isWasmMemoryFault } from '../model/memory.ts';
import { passImages } from '../device/parallel.ts';
import { checkPassBudget } from '../device/pass-budget.ts';
import { learningRate, progressAt, validateSchedule, type ScheduleSettings } from './schedule.ts';
import type { StepResult, TrainerSettings, TrainerStateJson } from '../optim/trainer.ts';
import { DeviceLostError, LocalDevice, type ComputeDevice } from '../device/device.ts';
import { trainingTask } from './tasks/index.ts';
import type { OpenContext, PreparedData, TaskEvaluation, TrainingTask } from './tasks/task.ts';

export interface TrainingOptions {
  /** Every event, after it is appended to metrics.jsonl. */
  onEvent?: (event: TrainEvent) => void;
  /** Aborting stops after the current step with a checkpoint; reason 'pause' marks the run paused. */
  signal?: AbortSignal;
  /** Save 'last' every this many steps (and at every epoch end). */
  checkpointEverySteps?: number;
  /** Replaces the atomic file writer of checkpoints (tests inject a full disk). */
  writeFile?: FileWriter;
  /** Called after every step with the model when it lives in this process (tests inject faults here). */
  afterStep?: (info: { step: number; model: Model | null }) => void;
  /**
   * Where the tensor work runs (src/device/): this process's backend by default, or a Chromium page
   * (webgpu, webgl, wasm-threads). The caller keeps it open and closes it; the run only releases its model.
   */
  device?: ComputeDevice;
  /** Progress of the preparation: dataset scan, image cache, evaluation set. */
  onPrepare?: (task: PrepareTask, done: number, total: number) => void;
}

export type TrainingStatus = Exclude<RunStatus, 'running'>;

export interface TrainingOutcome {
  runId: string;
  runDir: string;
  status: TrainingStatus;
  error: string | null;
  /** Global steps done. */
  step: number;
  /** Epochs fully done (trained and evaluated). */
  epochsDone: number;
  /** The last epoch's validation (its task's evaluation: classification's evaluate.ts, segmentation's segmentation-evaluate.ts). */
  val: TaskEvaluation | null;
  best: RunRecord['best'];
}

/** What a checkpoint's manifest carries besides the tensors. */
export interface LoopState {
  /** 0-based epoch in progress (== epochs done). */
  epoch: number;
  /** Batches of that epoch already trained: the sampler position. */
  batchIndex: number;
  /** Global steps done. */
  step: number;
  /**
   * Running sums over the epoch in progress, so its train metrics survive a resume. `correct` out of `counted`
   * (labelled pixels of a segmentation run; absent: out of `images`).
   */
  train: { lossSum: number; correct: number; images: number; seconds: number; counted?: number };
  best: RunRecord['best'];
  /** Learning rate of the last step (recomputed from the position on resume; kept to check). */
  lr: number;
  trainer: TrainerStateJson;
  /** Events of metrics.jsonl the checkpoint covers, its own 'checkpoint' event included. */
  events: number;
  /** Dropout seeds derive from (seed, step): the step is the generator's whole state. */
  rng: { seed: number; step: number };
}

class NonFiniteLoss extends Error {}
class Stopped extends Error {
  constructor(readonly reason: 'stop' | 'pause', readonly event: NewEvent) {
    super(reason);
  }
}

export function scheduleOf(s: TrainSettings): ScheduleSettings {
  const minLr = s.lr * concrete(s.minLrRatio, 'minLrRatio');
  const sched = { lr: s.lr, minLr, warmupEpochs: concrete(s.warmupEpochs, 'warmupEpochs'), warmupStartLr: Math.min(WARMUP_START_LR, s.lr), epochs: s.epochs };
  validateSchedule(sched);
  return sched;
}

export function samplerOf(s: TrainSettings): SamplerConfig {
  return { baseSize: s.imageSize, batchSize: s.batchSize, multiScale: s.multiScale, seed: s.seed };
}

function isAbort(e: unknown, signal: AbortSignal | undefined): boolean {
  return !!signal?.aborted && (e === signal.reason || (e instanceof Error && e.name === 'AbortError'));
}

/** Trains (or resumes) the run in `runDir`; resolves when it finishes, stops, pauses or fails. */
export async function runTraining(runDir: string, opts: TrainingOptions = {}): Promise<TrainingOutcome> {
  // One trainer per run: the lock is taken before anything is read or written, and released only once
  // run.json is final, so whoever sees the lock free sees the run's settled state.
  const lock = await acquireRunLock(runDir, 'training');
  try {
    return await trainLocked(runDir, opts);
  } finally {
    await lock.release();
  }
}

async function trainLocked(runDir: string, opts: TrainingOptions): Promise<TrainingOutcome> {
  const record = readRun(runDir);
  if (record.status === 'finished') throw new Error(`run ${record.id} has already finished`);
  const store = new CheckpointStore<LoopState>(join(runDir, FILES.checkpoints), { writeFile: opts.writeFile });
  store.collect();
  const resume = store.load('last');
  // The log is rewound to what the checkpoint covers: the resumed run writes the rest again.
  const metricsPath = join(runDir, FILES.metrics);
  const covered = existsSync(metricsPath) ? rewindEvents(metricsPath, resume?.manifest.meta.events ?? 0) : 0;
  const sink = new EventSink(metricsPath, opts.onEvent, covered);
  const device = opts.device ?? new LocalDevice(tf.getBackend());
  updateRun(runDir, { status: 'running', error: null, backend: device.info.name });

  const outcome: TrainingOutcome = {
    runId: record.id, runDir, status: 'failed', error: null, step: resume?.manifest.meta.step ?? 0,
    epochsDone: resume?.manifest.meta.epoch ?? 0, val: null, best: resume?.manifest.meta.best ?? null,
  };
  // run.json is final before the terminal event goes out, so whoever reacts to the event (the UI
  // offering Resume, a script reading run.json) sees the run's settled state.
  const finish = (status: TrainingStatus, error: string | null, event: NewEvent): TrainingOutcome => {
    Object.assign(outcome, { status, error });
    try {
      updateRun(runDir, { status, error });
    } catch (e) {
      sink.warn(`could not update ${FILES.run}: ${(e as Error).message}`);
    }
    sink.emit(event);
    return outcome;
  };

  let session: Session | null = null;
  try {
    session = await Session.prepare(record, runDir, store, resume, sink, opts, device);
    return finish('finished', null, await session.train(outcome));
  } catch (e) {
    if (e instanceof Stopped) return finish(e.reason === 'pause' ? 'paused' : 'stopped', null, e.event);
    const at = session ? { epoch: session.state.epoch + 1, step: session.state.step } : {};
    if (isAbort(e, opts.signal)) {
      // Stopped while preparing (scan, cache): nothing was trained, so there is nothing to save.
      const reason = opts.signal!.reason === 'pause' ? 'pause' : 'stop';
      return finish(reason === 'pause' ? 'paused' : 'stopped', null, { type: 'stopped', reason, epoch: 1, step: 0, ...at });
    }
    const kept = store.manifest('last');
    const message = isWasmMemoryFault(e) && (session?.tfBackend ?? device.info.tfBackend) === 'wasm'
      ? `the wasm backend ran out of memory (${e instanceof Error ? e.message : String(e)}); lower --batch-size or --image-size, or use tfjs-node`
      : e instanceof Error ? e.message : String(e);
    const error = e instanceof NonFiniteLoss
      ? `${message}; ${kept ? `the last good checkpoint (step ${kept.step}) is kept` : 'no checkpoint had been saved yet'}`
      : e instanceof DeviceLostError || isWasmMemoryFault(e) // the engine restarts; the run goes on from its checkpoint
        ? `${message}; ${kept ? `resuming continues from the last checkpoint (step ${kept.step})` : 'no checkpoint had been saved yet'}`
        : message;
    return finish('failed', error, { type: 'failed', error, ...at });
  } finally {
    await session?.dispose();
    if (!opts.device) await device.close();
  }
}

/** Everything one training session holds: data, model, optimizer, position. */
class Session {
  private readonly every: number;
  private readonly sched: ScheduleSettings;
  private readonly splitSizes = new Set<number>();

  private constructor(
    private readonly record: RunRecord,
    private readonly dir: string,
    private readonly store: CheckpointStore<LoopState>,
    private readonly sink: EventSink,
    private readonly opts: TrainingOptions,
    private readonly task: TrainingTask,
    private readonly classes: string[],
    /** The task's data, network and compute for this session. */
    private readonly data: PreparedData,
    readonly state: LoopState,
    private readonly trainImages: number,
  ) {
    this.every = opts.checkpointEverySteps ?? CHECKPOINT_EVERY_STEPS;
    this.sched = scheduleOf(record.settings);
  }

  private get s(): TrainSettings {
    return this.record.settings;
  }

  private get compute() {
    return this.data.compute;
  }

  get tfBackend(): string {
    return this.compute.tfBackend;
  }

  static async prepare(record: RunRecord, dir: string, store: CheckpointStore<LoopState>, resume: LoadedCheckpoint<LoopState> | null,
    sink: EventSink, opts: TrainingOptions, device: ComputeDevice): Promise<Session> {
    const s = record.settings;
    const { signal, onPrepare } = opts;
    const sampler = samplerOf(s);
    // Checked before the scan with the reference recipe in place of 'auto'; resolved against the data below.
    const checked = resolveRecipe(s, null).settings;
    scheduleOf(checked);
    checkSettings(checked); // as before the run was created (protocol/trainable.ts); a run recorded before then may fail here
    const task = trainingTask(s.task);
    task.check?.(checked);
    // One image of the largest resolution must fit a pass (batches are sliced to fit), or the wasm heap would abort.
    if (!s.headOnly) checkPassBudget({ what: 'training', variant: s.variant, size: samplerSizes(sampler).at(-1)!, images: 1, kind: 'train' }, { backend: device.info.tfBackend, inUseBytes: 0 });

    // The dataset is scanned again on resume: files may have come or gone, the classes must not change.
    const ctx = { record, resumed: resume !== null, device, sampler, signal, onPrepare, warn: (note: string) => sink.warn(note) };
    const scanned = await task.scan(ctx, s);
    const { classes, recipe } = scanned;
    if (record.classes.length > 0 && record.classes.join('\n') !== classes.join('\n')) {
      throw new Error(`the classes in ${s.data} changed since the run started (then: ${record.classes.join(', ')}; now: ${classes.join(', ')})`);
    }
    writeLabels(dir, classes);
    const previousTrainCount = record.dataset?.trainCount;
    // Kept from the first start, as the recipe is: a resumed run cuts its batches into the passes it used before.
    const passWorkers = record.passWorkers ?? device.info.workers ?? 1;
    if (!Number.isInteger(passWorkers) || passWorkers < 1 || passWorkers > 256) throw new Error(`${join(dir, FILES.run)}: passWorkers must be a whole number from 1 to 256, got ${JSON.stringify(passWorkers)}`);
    updateRun(dir, { classes, dataset: scanned.dataset, recipe, passWorkers });
    record = { ...record, settings: recipe.settings, passWorkers };

    const notes = [...scanned.notes];
    if (resume && previousTrainCount !== undefined && previousTrainCount !== scanned.trainImages) {
      notes.push(`the training set has ${scanned.trainImages} images now, ${previousTrainCount} when the run started: batches differ from here on`);
    }
    let checkpoint: OpenContext['checkpoint'] = null;
    if (resume) {
      const { manifest } = resume;
      if (!resume.state || !manifest.state) throw new CheckpointError(`${join(store.dir, 'last.json')}: the checkpoint has no optimizer state`);
      checkpoint = {
        weights: resume.weights, source: join(store.dir, manifest.weights),
        state: { tensors: resume.state, json: manifest.meta.trainer, source: join(store.dir, manifest.state) },
      };
    }
    const epochs = recipe.settings.epochs; // 1 when a quick run's classifier is solved (one solve, one step)
    const data = await scanned.open({
      ...ctx, recipe, checkpoint,
      trainer: (ema) => ({ adamw: { ...ADAMW, weightDecay: s.weightDecay }, labelSmoothing: s.labelSmoothing, gradClip: s.gradClip, emaDecay: s.ema && ema ? EMA_DECAY : null }),
      announce: (trainImages, more, backend) => {
        const startStep = resume?.manifest.meta.step ?? 0;
        const totalSteps = solvesHead(recipe.settings) ? 1 : totalBatches(sampler, epochs, trainImages);
        sink.emit({
          type: 'started', runId: record.id, epoch: (resume?.manifest.meta.epoch ?? 0) + 1, step: startStep, totalEpochs: epochs,
          stepsPerEpoch: Math.round(totalSteps / epochs), totalSteps, resumed: resume !== null, backend,
        });
        for (const note of [...notes, ...more]) sink.warn(note);
      },
    });
    try {
      const state: LoopState = resume ? structuredClone(resume.manifest.meta) : {
        epoch: 0, batchIndex: 0, step: 0, train: { lossSum: 0, correct: 0, images: 0, seconds: 0 }, best: null, lr: 0,
        trainer: (await data.compute.trainerState()).json, events: 0, rng: { seed: s.seed, step: 0 },
      };
      return new Session(record, dir, store, sink, opts, task, classes, data, state, scanned.trainImages);
    } catch (e) {
      await data.compute.dispose();
      throw e;
    }
  }

  /** Trains the remaining epochs; throws Stopped on request, NonFiniteLoss on a NaN/Inf loss. */
  /** Trains to the end and returns the 'finished' event (emitted once run.json is final). */
  async train(outcome: TrainingOutcome): Promise<NewEvent> {
    const { s, state, data } = this;
    const sampler = samplerOf(s);
    for (let epoch = state.epoch; epoch < s.epochs; epoch++) {
      if (data.solve) {
        this.solveHead(data.solve, epoch);
        await this.endEpoch(epoch, outcome);
        continue;
      }
      const batchesInEpoch = planEpoch(sampler, epoch, this.trainImages).length;
      const frozen = epoch < s.freezeBackboneEpochs;
      const batches = data.batches(epoch, state.batchIndex);
      let mark = performance.now();
      for (;;) {
        const next = await batches.next();
        if (next.done) break;
        const b = next.value;
        const dataWaitMs = performance.now() - mark;
        const lr = learningRate(this.sched, progressAt(epoch, b.batchIndex, batchesInEpoch));
        const n = b.indices.length;
        let r: StepResult;
        try {
          r = await this.compute.step({
            batch: b, epoch, lr, seed: s.seed, step: state.step, frozenBackbone: frozen && !s.headOnly,
            imagesPerPass: s.headOnly ? Infinity : this.passSize(b.size, n),
          });
        } finally {
          b.release(); // the batch's buffers back to the pool once the step has answered (it disposed its input)
        }
        if (!Number.isFinite(r.loss)) throw new NonFiniteLoss(`the loss became ${r.loss} at step ${state.step + 1} (epoch ${epoch + 1}): training stopped`);
        const stepMs = performance.now() - mark;
        state.step++;
        state.batchIndex = b.batchIndex + 1;
        state.lr = lr;
        state.train.lossSum += r.loss * n;
        state.train.correct += r.correct;
        state.train.images += n;
        if (r.counted !== undefined) state.train.counted = (state.train.counted ?? 0) + r.counted;
        state.train.seconds += stepMs / 1000;
        outcome.step = state.step;
        this.sink.emit({
          type: 'step', epoch: epoch + 1, step: state.step, loss: r.loss, lr, imagesPerSec: n / (stepMs / 1000), dataWaitMs,
          resolution: b.size, batchSize: n, acc: r.correct / (r.counted ?? n), batch: state.batchIndex, batches: batchesInEpoch,
        });
        this.opts.afterStep?.({ step: state.step, model: this.compute.localModel() });
        // Checkpoint time counts neither as compute nor as data wait: the clock restarts after it.
        const reason = this.stopReason();
        if (reason) {
          await this.saveLast();
          this.stopped(reason);
        }
        if (state.step % this.every === 0) await this.saveLast();
        mark = performance.now();
      }
      await this.endEpoch(epoch, outcome);
      const reason = this.stopReason();
      if (reason && state.epoch < s.epochs) this.stopped(reason);
    }
    const val = outcome.val;
    return {
      type: 'finished', epoch: state.epoch, step: state.step, val: val && this.task.metrics(val),
      best: state.best, weights: this.store.weightsPath(state.best ? 'best' : 'last') ?? undefined,
    };
  }

  /** A quick run's classifier solved on the cached rows: the epoch's one step, and a line saying what was done. */
  private solveHead(solve: NonNullable<PreparedData['solve']>, epoch: number): void {
    const { state } = this;
    const t0 = performance.now();
    const fit = solve(this.s.seed);
    const seconds = (performance.now() - t0) / 1000;
    const rows = fit.rows;
    this.sink.warn(`${fit.summary} (${seconds.toFixed(1)} s)`);
    state.step++;
    state.batchIndex = 0;
    state.lr = 0;
    state.train = { lossSum: fit.loss * rows, correct: Math.round(fit.top1 * rows), images: rows, seconds };
    this.sink.emit({
      type: 'step', epoch: epoch + 1, step: state.step, loss: fit.loss, lr: 0, imagesPerSec: rows / Math.max(seconds, 1e-9), dataWaitMs: 0,
      resolution: this.s.imageSize, batchSize: rows, acc: fit.top1, batch: 1, batches: 1,
    });
    this.opts.afterStep?.({ step: state.step, model: this.compute.localModel() });
  }

  /** Evaluates (the averaged weights when EMA is on), records the epoch, keeps the best, checkpoints. */
  private async endEpoch(epoch: number, outcome: TrainingOutcome): Promise<void> {
    const { state } = this;
    const evaluation = this.data.evaluate === null ? null : await this.data.evaluate(this.data.averaged ? 'averaged' : 'live', this.s.batchSize);
    const train = {
      loss: state.train.lossSum / Math.max(1, state.train.images),
      top1: state.train.correct / Math.max(1, state.train.counted ?? state.train.images),
    };
    const seconds = state.train.seconds;
    state.epoch = epoch + 1;
    state.batchIndex = 0;
    state.train = { lossSum: 0, correct: 0, images: 0, seconds: 0 };
    const candidate = evaluation && this.task.best(epoch + 1, evaluation);
    const improved = candidate !== null && this.task.improves(candidate, state.best);
    if (improved) state.best = candidate;
    Object.assign(outcome, { val: evaluation, best: state.best, epochsDone: state.epoch });

    this.sink.emit({
      type: 'epoch', epoch: epoch + 1, step: state.step, lr: state.lr, seconds, train,
      val: evaluation && this.task.metrics(evaluation),
    });
    if (evaluation) this.saveEvaluation(epoch + 1, evaluation);
    if (improved) await this.saveBest(epoch + 1);
    try {
      updateRun(this.dir, {
        epochsDone: state.epoch, best: state.best,
        last: { epoch: epoch + 1, trainLoss: train.loss, valLoss: evaluation?.loss ?? null, valTop1: evaluation?.top1 ?? null },
      });
    } catch (e) {
      // Like a failed checkpoint (a full disk), not a reason to stop: the next epoch end rewrites it.
      this.sink.warn(`could not update ${FILES.run}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    await this.saveLast();
  }

  /**
   * Images per forward/backward pass of a batch at this resolution: the run's worker count's passes within the
   * device's memory (device/parallel.ts passImages), the same on every device; says so once per resolution when
   * memory splits batches.
   */
  private passSize(size: number, batch: number): number {
    const backend = this.compute.tfBackend;
    const bound = imagesPerPass(backend, this.s.variant, size);
    const per = passImages(batch, this.record.passWorkers ?? 1, bound);
    if (bound < batch && !this.splitSizes.has(size)) {
      this.splitSizes.add(size);
      this.sink.warn(`${backend}: batches at ${size} px are trained ${per} image(s) per pass with gradient accumulation`
        + ` (wasm memory ends at 4 GB); BatchNorm sees ${per} image(s) at a time. A faster backend (tfjs-node) or a smaller --image-size avoids it`);
    }
    return per;
  }

  private stopReason(): 'stop' | 'pause' | null {
    const signal = this.opts.signal;
    return signal?.aborted ? (signal.reason === 'pause' ? 'pause' : 'stop') : null;
  }

  private stopped(reason: 'stop' | 'pause'): never {
    throw new Stopped(reason, { type: 'stopped', reason, epoch: this.state.epoch + 1, step: this.state.step });
  }

  private weightsMeta(): Record<string, string> {
    // The labels let a later fine-tune keep this classifier only for the same classes (head-only.ts loadForFineTune).
    return { variant: this.data.network, num_classes: String(this.classes.length), format: 'timm', run: this.record.id, labels: JSON.stringify(this.classes) };
  }

  /** Saves 'last'; a failed write (full disk) is a warning and the previous checkpoint stays. */
  private async saveLast(): Promise<void> {
    const { state } = this;
    const exported = await this.compute.trainerState();
    const weights = await this.compute.weights('live');
    state.trainer = exported.json;
    state.rng = { seed: this.s.seed, step: state.step };
    state.events = this.sink.count + 1; // this checkpoint's own event comes next
    try {
      this.store.save('last', state.step, weights, exported.tensors, state, this.weightsMeta());
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      const prev = this.store.manifest('last');
      this.sink.warn(`${e.message}; ${prev ? `the checkpoint of step ${prev.step} is kept` : 'there is no earlier checkpoint'}`);
      return;
    }
    // A mid-epoch checkpoint belongs to the epoch in progress, an epoch-end one to the epoch just done.
    this.sink.emit({ type: 'checkpoint', kind: 'last', epoch: state.batchIndex > 0 ? state.epoch + 1 : state.epoch, step: state.step });
  }

  /** Saves 'best': the weights a user takes away (the averaged ones when EMA is on). */
  private async saveBest(epoch: number): Promise<void> {
    const weights = await this.compute.weights(this.data.averaged ? 'averaged' : 'live');
    try {
      this.store.save('best', this.state.step, weights, null, this.state, this.weightsMeta());
      this.sink.emit({ type: 'checkpoint', kind: 'best', epoch, step: this.state.step });
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      const prev = this.store.manifest('best');
      this.sink.warn(`${e.message}; ${prev ? `the best weights stay those of step ${prev.step}` : 'no best weights are saved yet'}`);
    }
  }

  private saveEvaluation(epoch: number, evaluation: TaskEvaluation): void {
    try {
      writeEvaluation(this.dir, epoch, evaluation);
    } catch (e) {
      this.sink.warn(`could not save the evaluation of epoch ${epoch}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  dispose(): Promise<void> {
    return this.compute.dispose();
  }
}
