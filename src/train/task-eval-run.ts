// Evaluating a run of a task that evaluates itself (segmentation, detection) outside the training loop: its
// checkpoint (best, else last) on the validation images of its dataset (the folder's val split, or the run's own
// seeded split), at the run's image size, exactly as the loop evaluates at an epoch's end. The task gives the scan
// and the evaluation of a weights file; the checks and the result's provenance are the same for every task.
import { join } from 'node:path';
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

export async function evaluateTaskRun<S extends { root: string; classes: string[]; val: readonly unknown[] }, E>(dir: string, run: RunRecord, opts: TaskRunOptions, task: {
  scan(settings: TrainSettings): Promise<S>;
  /** The weights file at `path` on the scan's validation images. */
  evaluate(path: string, scan: S, batchSize: number): Promise<E>;
}): Promise<E & TaskRunProvenance> {
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
  const evaluation = await task.evaluate(found.path!, scan, opts.batchSize ?? s.batchSize);
  return { ...evaluation, source: `${found.path} (${found.kind} checkpoint)`, data: scan.root, imageSize: s.imageSize, images: 'val' };
}
