// Evaluating a detection run outside the training loop (task-eval-run.ts): its checkpoint on the validation
// images of its dataset, COCO's scores as the loop reports them at an epoch's end.
import { buildDetectionSet, type DetectionSet } from '../data/detection-loader.ts';
import type { DetectionScan } from '../data/detection-scan.ts';
import { DetectionModel } from '../model/detection.ts';
import type { RunRecord } from '../run/index.ts';
import { evaluateDetection, type DetectorForward, type DetectionEvaluation } from './detection-evaluate.ts';
import { evaluateTaskRun, type TaskRunOptions, type TaskRunProvenance } from './task-eval-run.ts';
import { detectionNetwork, scanForDetection } from './tasks/detection.ts';

export interface DetectionRunResult extends DetectionEvaluation, TaskRunProvenance {
  task: 'detection';
}

/** `scan`: reads the run's dataset (scanForDetection; the engine's keeps the scan for its ground truth too). */
export async function evaluateDetectionRun(dir: string, run: RunRecord, opts: TaskRunOptions<DetectionModel, DetectorForward>, scan = scanForDetection): Promise<DetectionRunResult> {
  const s = run.settings;
  const result = await evaluateTaskRun<DetectionScan, DetectionModel, DetectorForward, DetectionSet, DetectionEvaluation>(dir, run, opts, {
    scan,
    network: () => new DetectionModel(detectionNetwork(s.variant), run.classes.length + 1),
    evalSet: (scan, size, build) => buildDetectionSet(scan.val, size, build),
    evaluate: evaluateDetection,
  });
  return { ...result, task: 'detection' };
}
