// Where a segmentation run starts from --weights: a classifier's backbone. DeepLabv3's backbone keeps the
// classifier's keys and shapes (model/deeplabv3.ts), so every backbone tensor (BatchNorm statistics included) is
// taken from the classifier the file holds, read as any classifier file is (timm, Hugging Face or Apple names,
// safetensors or a PyTorch checkpoint: model/from-file.ts); the ASPP and the classifier conv keep the run's
// seeded start. A segmentation checkpoint as the start is not read yet.
import { SEGMENTATION_HEAD_PREFIX } from '../model/deeplabv3.ts';
import { modelFromWeights } from '../model/from-file.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { readWeightsFile } from '../model/weights-file.ts';
import type { VariantName } from '../protocol/contract.ts';

/** Fills `model`'s backbone from the classifier `backbone` in `path`; returns the note saying so. */
export function initBackbone(model: SegmentationModel, path: string, backbone: VariantName): string {
  if ([...readWeightsFile(path).tensors.keys()].some((k) => k.startsWith(`${SEGMENTATION_HEAD_PREFIX}.`))) {
    throw new Error(`${path} is a segmentation checkpoint: starting a segmentation run from one is not implemented yet (a classifier's weights start its backbone)`);
  }
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
