// Evaluating a run of a task that evaluates itself (segmentation, detection) outside the training loop: its
// checkpoint (best, else last) on the validation images of its dataset (the folder's val split, or the run's own
// seeded split), at the run's image size, exactly as the loop evaluates at an epoch's end. The task gives its scan,
// network, evaluation set and evaluation; the checks, the loading and the result's provenance are the same for all.
// The loaded network computes in this process, or where `runtime` opens it (onnxruntime: train/dense-inference.ts).
import { join } from 'node:path';
import type { BuildOptions } from '../data/loader.ts';
import { loadWeightsFile } from '../model/weights-file.ts';
import type { WeightsTarget } from '../model/weights.ts';
import type { TrainSettings } from '../protocol/contract.ts';
import type { InferenceRuntime } from '../protocol/devices.ts';
import { CheckpointStore, FILES, type CheckpointKind, type RunRecord } from '../run/index.ts';

/** The loaded network opened on a runtime for evaluation: what computes, which runtime, and where and why in words. */
export type EvalRunner<M> = M & { runtime: InferenceRuntime; note: string; dispose(): Promise<void> };

/** N: the task's network; M: what its evaluation runs the images through (the network, or a copy elsewhere). */
export interface TaskRunOptions<N = never, M = unknown> {
  checkpoint?: CheckpointKind;
  /** Opens the loaded network where evaluation computes, at the run's size for this many images; default: the network itself, on TF.js here. */
  runtime?: (network: N, imageSize: number, images: number) => Promise<EvalRunner<M>>;
  batchSize?: number;
  onProgress?: (task: 'scan' | 'eval-set', done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Where a run's evaluation came from. */
export interface TaskRunProvenance {
  source: string;
  data: string;
  imageSize: number;
  images: 'val';
  /** The runtime that computed the outputs (TF.js unless `runtime` opened another), and where and why in words. */
  runtime: InferenceRuntime;
  runtimeNote?: string;
}

export async function evaluateTaskRun<S extends { root: string; classes: string[]; val: readonly unknown[] }, N extends M & WeightsTarget & { dispose(): void }, M, V, E>(
  dir: string, run: RunRecord, opts: TaskRunOptions<N, M>, task: {
    scan(settings: TrainSettings): Promise<S>;
    /** The run's network, to load the checkpoint into (disposed here). */
    network(): N;
    /** The scan's validation images prepared at the run's size. */
    evalSet(scan: S, size: number, build: BuildOptions): Promise<V>;
    evaluate(network: M, set: V, batchSize: number, classes: string[]): Promise<E>;
  },
): Promise<E & TaskRunProvenance> {
  const s = run.settings;
  const found = new CheckpointStore(join(dir, FILES.checkpoints)).weightsToRead(opts.checkpoint);
  if (!found) throw new Error(`run ${dir} has no ${opts.checkpoint ?? 'best or last'} checkpoint yet`);
  opts.onProgress?.('scan', 0, 1);
  const scan = await task.scan(s);
  if (scan.classes.join('\n') !== run.classes.join('\n')) {
    throw new Error(`the classes of ${s.data} (${scan.classes.join(', ')}) are not those run ${run.id} trained on (${run.classes.join(', ')})`);
  }
  if (scan.val.length === 0) throw new Error(`${s.data} has no validation images to evaluate on`);
  opts.onProgress?.('scan', 1, 1);
  const network = task.network();
  try {
    loadWeightsFile(network, found.path!, { allowHeadMismatch: false });
    const set = await task.evalSet(scan, s.imageSize, { signal: opts.signal, onProgress: (d, t) => opts.onProgress?.('eval-set', d, t) });
    const runner = opts.runtime ? await opts.runtime(network, s.imageSize, scan.val.length) : null;
    let evaluation: E;
    try {
      evaluation = await task.evaluate(runner ?? network, set, opts.batchSize ?? s.batchSize, run.classes);
    } finally {
      await runner?.dispose();
    }
    return {
      ...evaluation, source: `${found.path} (${found.kind} checkpoint)`, data: scan.root, imageSize: s.imageSize, images: 'val',
      runtime: runner?.runtime ?? 'tfjs', ...(runner ? { runtimeNote: runner.note } : {}),
    };
  } finally {
    network.dispose();
  }
}
