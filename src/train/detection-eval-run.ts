// Evaluating a detection run outside the training loop (task-eval-run.ts): its checkpoint on the validation
// images of its dataset, COCO's scores as the loop reports them at an epoch's end.
import { buildDetectionSet } from '../data/detection-loader.ts';
import { DetectionModel } from '../model/detection.ts';
import { loadWeightsFile } from '../model/weights-file.ts';
import type { RunRecord } from '../run/index.ts';
import { evaluateDetection, type DetectionEvaluation } from './detection-evaluate.ts';
import { evaluateTaskRun, type TaskRunOptions, type TaskRunProvenance } from './task-eval-run.ts';
import { detectionNetwork, scanForDetection } from './tasks/detection.ts';

export interface DetectionRunResult extends DetectionEvaluation, TaskRunProvenance {
  task: 'detection';
}

export async function evaluateDetectionRun(dir: string, run: RunRecord, opts: TaskRunOptions): Promise<DetectionRunResult> {
  const s = run.settings;
  const result = await evaluateTaskRun(dir, run, opts, {
    scan: scanForDetection,
    async evaluate(path, scan, batchSize) {
      const model = new DetectionModel(detectionNetwork(s.variant), run.classes.length + 1);
      try {
        loadWeightsFile(model, path, { allowHeadMismatch: false });
        const set = await buildDetectionSet(scan.val, s.imageSize, { signal: opts.signal, onProgress: (d, t) => opts.onProgress?.('eval-set', d, t) });
        return await evaluateDetection(model, set, batchSize, run.classes);
      } finally {
        model.dispose();
      }
    },
  });
  return { ...result, task: 'detection' };
}
