// A checkpoint of the run's own task as its --weights (a classifier's for a quick fine-tune, a segmentation or
// detection network's for theirs) loads whole, and its class layer is kept only where it predicts this dataset's
// classes in the same order. A class layer of another size is drawn afresh by the loader; one of the same size is
// redrawn here when the file's labels are others, or when it records none (which class is which is then unknown).
// The tasks' starts (head-only.ts, segmentation-init.ts, detection-init.ts) each word the outcome for their network.
import { labelsInMetadata } from '../model/from-file.ts';
import type { SafetensorsFile } from '../model/safetensors.ts';
import { loadWeights, type LoadReport, type WeightsTarget } from '../model/weights.ts';

/** What became of the file's class layer; `why` a redrawn one was not kept, in words. */
export type HeadFate = { head: 'other-size' } | { head: 'kept' } | { head: 'redrawn'; why: string };

/** Loads `file` (read from `path`) into `model` for a run on `classes`, keeping or redrawing its class layer as above. */
export function loadKeepingHead(model: WeightsTarget, file: SafetensorsFile, path: string, classes: readonly string[]): { report: LoadReport; fate: HeadFate } {
  const report = loadWeights(model, file.tensors, { source: path, allowHeadMismatch: true });
  if (report.headReinitialized) return { report, fate: { head: 'other-size' } };
  const stored = labelsInMetadata(file.metadata);
  if (stored?.length === classes.length && stored.every((c, i) => c === classes[i])) return { report, fate: { head: 'kept' } };
  model.reinitHead();
  const why = stored
    ? `its labels (${fewOf(stored)}) are not this dataset's (${fewOf(classes)})`
    : `it records no labels in its metadata, so which class is which is unknown`;
  return { report: { ...report, headReinitialized: true }, fate: { head: 'redrawn', why } };
}

/** The first four of `labels`, an ellipsis for the rest. */
const fewOf = (labels: readonly string[]) => `${labels.slice(0, 4).join(', ')}${labels.length > 4 ? ', …' : ''}`;
