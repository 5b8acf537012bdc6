// Where a segmentation run starts from --weights. A segmentation checkpoint (a run's, or DeepLabv3 under
// transformers' names) loads whole, checked as any weights file is: its classifier conv kept when its labels are
// this dataset's, drawn from the run's seed otherwise (another class count, other names, or no names to compare).
// A classifier gives the backbone: DeepLabv3's backbone keeps the classifier's keys and shapes (model/deeplabv3.ts),
// so every backbone tensor (BatchNorm statistics included) is taken from the classifier the file holds, read as any
// classifier file is (timm, Hugging Face or Apple names, safetensors or a PyTorch checkpoint: model/from-file.ts);
// the ASPP and the classifier conv keep the run's seeded start.
import { SEGMENTATION_HEAD_PREFIX } from '../model/deeplabv3.ts';
import { modelFromWeights } from '../model/from-file.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { readWeightsFile } from '../model/weights-file.ts';
import type { VariantName } from '../protocol/contract.ts';
import { loadKeepingHead } from './keep-head.ts';

/** Fills `model` from `path` for a run on `classes` (background first), as above; returns the note saying what it did. */
export function initSegmentation(model: SegmentationModel, path: string, backbone: VariantName, classes: readonly string[]): string {
  const file = readWeightsFile(path);
  if (![...file.tensors.keys()].some((k) => k.startsWith(`${SEGMENTATION_HEAD_PREFIX}.`))) return initBackbone(model, path, backbone);
  const { fate } = loadKeepingHead(model, file, path, classes);
  const loaded = `segmentation network loaded from ${path}`;
  if (fate.head === 'other-size') return `${loaded}; its classifier conv predicts another number of classes and is drawn from the run's seed`;
  if (fate.head === 'kept') return `${loaded}, its classifier conv kept: it predicts this dataset's ${classes.length} classes`;
  return `${loaded}; its classifier conv is drawn from the run's seed: ${fate.why}`;
}

/** Fills `model`'s backbone from the classifier `backbone` in `path`; returns the note saying so. */
function initBackbone(model: SegmentationModel, path: string, backbone: VariantName): string {
  const { model: classifier } = modelFromWeights(backbone, path);
  try {
    const unfit: string[] = [];
    const pairs = [...model.params].filter(([key]) => !key.startsWith(`${SEGMENTATION_HEAD_PREFIX}.`)).map(([key, p]) => {
      const from = classifier.params.get(key);
      if (!from || from.variable.shape.join('x') !== p.variable.shape.join('x')) unfit.push(key);
      return { to: p.variable, from: from?.variable };
    });
    if (unfit.length > 0) throw new Error(`${path} does not fit the backbone of ${model.variant}: ${unfit.length} tensor(s) missing or of another shape (${unfit.slice(0, 3).join(', ')}${unfit.length > 3 ? ', …' : ''})`);
    for (const { to, from } of pairs) to.assign(from!);
    return `backbone initialised from ${path} (${pairs.length} tensors of its ${backbone} classifier); the ASPP and the classifier start from the run's seed`;
  } finally {
    classifier.dispose();
  }
}
