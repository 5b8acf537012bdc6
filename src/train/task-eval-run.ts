// Evaluating a run of a task that evaluates itself (segmentation, detection) outside the training loop: its
// checkpoint (best, else last) on the validation images of its dataset (the folder's val split, or the run's own
// seeded split), at the run's image size, exactly as the loop evaluates at an epoch's end. The task gives its scan,
// network, evaluation set and evaluation; the checks, the loading and the result's provenance are the same for all.
import { join } from 'node:path';
import type { BuildOptions } from '../data/loader.ts';
import { loadWeightsFile } from '../model/weights-file.ts';
import type { WeightsTarget } from '../model/weights.ts';
import type { TrainSettings } from '../protocol/contract.ts';
import { CheckpointStore, FILES, type CheckpointKind, type RunRecord } from '../run/index.ts';

export interface TaskRunOptions {
  checkpoint?: CheckpointKind;
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
}

export async function evaluateTaskRun<S extends { root: string; classes: string[]; val: readonly unknown[] }, N extends WeightsTarget & { dispose(): void }, V, E>(
  dir: string, run: RunRecord, opts: TaskRunOptions, task: {
    scan(settings: TrainSettings): Promise<S>;
    /** The run's network, to load the checkpoint into (disposed here). */
    network(): N;
    /** The scan's validation images prepared at the run's size. */
    evalSet(scan: S, size: number, build: BuildOptions): Promise<V>;
    evaluate(network: N, set: V, batchSize: number, classes: string[]): Promise<E>;
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
    const evaluation = await task.evaluate(network, set, opts.batchSize ?? s.batchSize, run.classes);
    return { ...evaluation, source: `${found.path} (${found.kind} checkpoint)`, data: scan.root, imageSize: s.imageSize, images: 'val' };
  } finally {
    network.dispose();
  }
}
