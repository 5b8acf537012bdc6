// Evaluating a segmentation run outside the training loop (task-eval-run.ts): its checkpoint on the validation
// images of its dataset, mIoU and the accuracies as the loop reports them at an epoch's end.
import { buildMaskSet } from '../data/segmentation-loader.ts';
import { SegmentationModel } from '../model/segmentation.ts';
import { loadWeightsFile } from '../model/weights-file.ts';
import type { RunRecord } from '../run/index.ts';
import { evaluateSegmentation, type SegmentationEvaluation } from './segmentation-evaluate.ts';
import { evaluateTaskRun, type TaskRunOptions, type TaskRunProvenance } from './task-eval-run.ts';
import { scanForSegmentation, segmentationNetwork } from './tasks/segmentation.ts';

export interface SegmentationRunResult extends SegmentationEvaluation, TaskRunProvenance {
  task: 'segmentation';
}

export async function evaluateSegmentationRun(dir: string, run: RunRecord, opts: TaskRunOptions): Promise<SegmentationRunResult> {
  const s = run.settings;
  const result = await evaluateTaskRun(dir, run, opts, {
    scan: scanForSegmentation,
    async evaluate(path, scan, batchSize) {
      const model = new SegmentationModel(segmentationNetwork(s.variant) as ConstructorParameters<typeof SegmentationModel>[0], run.classes.length);
      try {
        loadWeightsFile(model, path, { allowHeadMismatch: false });
        const set = await buildMaskSet(scan.val, s.imageSize, { signal: opts.signal, onProgress: (d, t) => opts.onProgress?.('eval-set', d, t) });
        return await evaluateSegmentation(model, set, batchSize, run.classes);
      } finally {
        model.dispose();
      }
    },
  });
  return { ...result, task: 'segmentation' };
}
