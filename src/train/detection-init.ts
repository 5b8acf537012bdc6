// A detection run's starting weights from --weights (safetensors or a PyTorch checkpoint, in any naming the loader
// reads): a detection checkpoint loads whole, its class layers kept when its labels are this dataset's and drawn
// afresh otherwise; a classification checkpoint gives the backbone only (the detector's backbone keeps the
// classifier's own keys), the extra layers and heads staying as the run's seed drew them.
import type { DetectionModel } from '../model/detection.ts';
import type { VariantName } from '../model/registry/index.ts';
import { readWeightsFile } from '../model/weights-file.ts';
import { backboneFromClassifier } from './backbone-init.ts';
import { loadKeepingHead } from './keep-head.ts';

/** What follows the backbone in a detector (ml-cvnets' names): not in a classification checkpoint. */
const DETECTOR_ONLY = /^(extra_layers|ssd_heads)\./;

/** Loads `path` into `model` for a run on `classes` (without the background); returns what it did, in words. */
export function initDetector(model: DetectionModel, backbone: VariantName, path: string, classes: readonly string[]): string[] {
  const file = readWeightsFile(path);
  if ([...file.tensors.keys()].some((k) => DETECTOR_ONLY.test(k))) {
    const { fate } = loadKeepingHead(model, file, path, classes);
    if (fate.head === 'other-size') return [`detector loaded from ${path}; its class layers predict another number of classes and are drawn afresh`];
    if (fate.head === 'kept') return [`detector loaded from ${path}, its class layers kept: they predict this dataset's ${classes.length} classes`];
    return [`detector loaded from ${path}; its class layers are drawn afresh: ${fate.why}`];
  }
  const copied = backboneFromClassifier(model, file, path, backbone, (key) => DETECTOR_ONLY.test(key));
  return [`backbone initialised from the ${backbone} classifier ${path} (${copied} tensors); the extra layers and heads are drawn from the run's seed`];
}
