// Where a segmentation run starts from --weights. A segmentation checkpoint (a run's, or DeepLabv3 under
// transformers' names) loads whole, checked as any weights file is: its classifier conv kept when its labels are
// this dataset's, drawn from the run's seed otherwise (another class count, other names, or no names to compare).
// A classifier gives the backbone (backbone-init.ts), the file read once; the ASPP and the classifier conv keep the
// run's seeded start.
import { SEGMENTATION_HEAD_PREFIX } from '../model/deeplabv3.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { readWeightsFile } from '../model/weights-file.ts';
import type { VariantName } from '../protocol/contract.ts';
import { backboneFromClassifier } from './backbone-init.ts';
import { loadKeepingHead } from './keep-head.ts';

/** Fills `model` from `path` for a run on `classes` (background first), as above; returns the note saying what it did. */
export function initSegmentation(model: SegmentationModel, path: string, backbone: VariantName, classes: readonly string[]): string {
  const file = readWeightsFile(path);
  const isHead = (key: string) => key.startsWith(`${SEGMENTATION_HEAD_PREFIX}.`);
  if (![...file.tensors.keys()].some(isHead)) {
    const copied = backboneFromClassifier(model, file, path, backbone, isHead);
    return `backbone initialised from ${path} (${copied} tensors of its ${backbone} classifier); the ASPP and the classifier start from the run's seed`;
  }
  const { fate } = loadKeepingHead(model, file, path, classes);
  const loaded = `segmentation network loaded from ${path}`;
  if (fate.head === 'other-size') return `${loaded}; its classifier conv predicts another number of classes and is drawn from the run's seed`;
  if (fate.head === 'kept') return `${loaded}, its classifier conv kept: it predicts this dataset's ${classes.length} classes`;
  return `${loaded}; its classifier conv is drawn from the run's seed: ${fate.why}`;
}
