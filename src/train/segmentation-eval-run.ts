// Evaluating a segmentation run outside the training loop (task-eval-run.ts): its checkpoint on the validation
// images of its dataset, mIoU and the accuracies as the loop reports them at an epoch's end.
import { buildMaskSet, type MaskSet } from '../data/segmentation-loader.ts';
import type { SegmentationScan } from '../data/segmentation-scan.ts';
import { SegmentationModel } from '../model/segmentation.ts';
import type { RunRecord } from '../run/index.ts';
import { evaluateSegmentation, type SegmentationForward, type SegmentationEvaluation } from './segmentation-evaluate.ts';
import { evaluateTaskRun, type TaskRunOptions, type TaskRunProvenance } from './task-eval-run.ts';
import { scanForSegmentation, segmentationNetwork } from './tasks/segmentation.ts';

export interface SegmentationRunResult extends SegmentationEvaluation, TaskRunProvenance {
  task: 'segmentation';
}

export async function evaluateSegmentationRun(dir: string, run: RunRecord, opts: TaskRunOptions<SegmentationModel, SegmentationForward>): Promise<SegmentationRunResult> {
  const s = run.settings;
  const result = await evaluateTaskRun<SegmentationScan, SegmentationModel, SegmentationForward, MaskSet, SegmentationEvaluation>(dir, run, opts, {
    scan: scanForSegmentation,
    network: () => new SegmentationModel(segmentationNetwork(s.variant) as ConstructorParameters<typeof SegmentationModel>[0], run.classes.length),
    evalSet: (scan, size, build) => buildMaskSet(scan.val, size, build),
    evaluate: evaluateSegmentation,
  });
  return { ...result, task: 'segmentation' };
}
