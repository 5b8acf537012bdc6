// The task axis of training: what a run's task decides, behind one interface, so that the loop (loop.ts), the run
// folder (src/run/) and the transports are the same for every task. A task says how a dataset folder is scanned
// and loaded into batches, which network trains on it with which loss (its compute), how it is evaluated, and
// which numbers of an evaluation the events carry and the best epoch is ranked by.
import type { Batch } from '../../data/loader.ts';
import type { SamplerConfig } from '../../data/sampler.ts';
import type { ComputeDevice } from '../../device/device.ts';
import type { Weights } from '../../device/wire.ts';
import type { TensorMap } from '../../model/safetensors.ts';
import type { TrainerSettings } from '../../optim/trainer.ts';
import type { BestEpoch, PrepareTask, ScanSummary, TaskName, TrainEvent, TrainSettings } from '../../protocol/contract.ts';
import type { ResolvedRecipe } from '../../protocol/recipe.ts';
import type { RunRecord } from '../../run/index.ts';
import type { RunCompute, TrainerState } from '../compute.ts';

/** The training side of a compute: steps, weights and optimizer state (a task evaluates through its own data). */
export type StepCompute = Omit<RunCompute, 'evaluate'>;

/** What every task's evaluation gives: images counted, mean loss, and top-1 (of images, or of labelled pixels). */
export interface TaskEvaluation {
  count: number;
  loss: number;
  top1: number;
  top5: number | null;
}

/** An evaluation's numbers as the 'epoch' and 'finished' events carry them. */
export type EventMetrics = NonNullable<Extract<TrainEvent, { type: 'epoch' }>['val']>;

/** What the loop hands a task to prepare a session. */
export interface PrepareContext {
  /** The run as recorded (settings may still hold 'auto'). */
  record: RunRecord;
  /** Continuing from a checkpoint: the recipe and the weights come from the run, not from the data or --weights. */
  resumed: boolean;
  device: ComputeDevice;
  sampler: SamplerConfig;
  signal?: AbortSignal;
  onPrepare?: (task: PrepareTask, done: number, total: number) => void;
  warn(note: string): void;
}

/** What a task's scan gives the loop: enough to check and record the run before the costly preparation. */
export interface ScannedData {
  classes: string[];
  dataset: ScanSummary;
  /** The 'auto' settings resolved (a resumed run passes its recorded recipe back in `open`). */
  recipe: ResolvedRecipe;
  trainImages: number;
  /** Worth saying once the run has started (skipped files, the layout found). */
  notes: string[];
  /** Builds the network, its trainer and the batches; `announce` emits 'started' and the notes once the data is ready. */
  open(ctx: OpenContext): Promise<PreparedData>;
}

export interface OpenContext extends PrepareContext {
  recipe: ResolvedRecipe;
  /** The optimizer, clipping and EMA settings of the run (the task may turn EMA off, as a solved classifier does). */
  trainer(ema: boolean): TrainerSettings;
  /** A checkpoint's weights (to load into the network) and optimizer state; null on a fresh start. */
  checkpoint: { weights: TensorMap; state: TrainerState & { source: string }; source: string } | null;
  announce(trainImages: number, notes: string[], backend: string): void;
}

/** One session's data, network and compute, prepared by a task. */
export interface PreparedData {
  compute: StepCompute;
  /** Whether the compute keeps EMA weights (evaluated and saved as 'best' in place of the live ones). */
  averaged: boolean;
  /** The network's name in the weights' metadata (what a later forward, eval or fine-tune builds). */
  network: string;
  /** The training batches of `epoch` from `startBatch` on (labels per image, or per pixel). */
  batches(epoch: number, startBatch: number): AsyncGenerator<Batch>;
  /** Null without validation images. */
  evaluate: ((which: Weights, batchSize: number) => Promise<TaskEvaluation>) | null;
  /** A quick classifier run: the epoch's steps replaced by one solve (head-only.ts); absent for other runs. */
  solve?: (seed: number) => SolvedEpoch;
}

export interface SolvedEpoch {
  summary: string;
  loss: number;
  top1: number;
  /** Rows (image views) the solve fitted. */
  rows: number;
}

export interface TrainingTask {
  readonly name: TaskName;
  /** Checks of the settings a task makes before anything is read (classification: its augmentation); throws naming the field. */
  check?(settings: TrainSettings): void;
  /** Scans the run's dataset folder: throws, naming the folder, when it cannot train this task. */
  scan(ctx: PrepareContext, settings: TrainSettings): Promise<ScannedData>;
  /** The numbers of an evaluation that the events carry. */
  metrics(evaluation: TaskEvaluation): EventMetrics;
  /** The best-epoch entry of an evaluation. */
  best(epoch: number, evaluation: TaskEvaluation): BestEpoch;
  /** Whether `next` is better than `best` (classification: top-1, then loss; segmentation: mIoU, then loss). */
  improves(next: BestEpoch, best: BestEpoch | null): boolean;
}
