// Evaluating a detection run outside the training loop: its checkpoint (best, else last) on the validation images
// of its dataset (the folder's val split, or the run's own seeded split), at the run's image size, exactly as the
// loop evaluates at an epoch's end.
import { join } from 'node:path';
import { buildDetectionSet } from '../data/detection-loader.ts';
import { DetectionModel } from '../model/detection.ts';
import { loadWeightsFile } from '../model/weights-file.ts';
import { CheckpointStore, FILES, type CheckpointKind, type RunRecord } from '../run/index.ts';
import { evaluateDetection, type DetectionEvaluation } from './detection-evaluate.ts';
import { detectionNetwork, scanForDetection } from './tasks/detection.ts';

export interface DetectionRunResult extends DetectionEvaluation {
  task: 'detection';
  source: string;
  data: string;
  imageSize: number;
  images: 'val';
}

export async function evaluateDetectionRun(dir: string, run: RunRecord, opts: { checkpoint?: CheckpointKind; batchSize?: number; onProgress?: (task: 'scan' | 'eval-set', done: number, total: number) => void; signal?: AbortSignal }): Promise<DetectionRunResult> {
  const s = run.settings;
  const store = new CheckpointStore(join(dir, FILES.checkpoints));
  const found = store.weightsToRead(opts.checkpoint);
  if (!found) throw new Error(`run ${dir} has no ${opts.checkpoint ?? 'best or last'} checkpoint yet`);
  const { kind, path } = found;
  opts.onProgress?.('scan', 0, 1);
  const scan = await scanForDetection(s);
  if (scan.classes.join('\n') !== run.classes.join('\n')) {
    throw new Error(`the classes of ${s.data} (${scan.classes.join(', ')}) are not those run ${run.id} trained on (${run.classes.join(', ')})`);
  }
  if (scan.val.length === 0) throw new Error(`${s.data} has no validation images to evaluate on`);
  opts.onProgress?.('scan', 1, 1);
  const model = new DetectionModel(detectionNetwork(s.variant), run.classes.length + 1);
  try {
    loadWeightsFile(model, path!, { allowHeadMismatch: false });
    const set = await buildDetectionSet(scan.val, s.imageSize, { signal: opts.signal, onProgress: (d, t) => opts.onProgress?.('eval-set', d, t) });
    const evaluation = await evaluateDetection(model, set, opts.batchSize ?? s.batchSize, run.classes);
    return { ...evaluation, task: 'detection', source: `${path} (${kind} checkpoint)`, data: scan.root, imageSize: s.imageSize, images: 'val' };
  } finally {
    model.dispose();
  }
}
