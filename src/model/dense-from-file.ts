// Building a segmentation or detection network for a weights file (safetensors or a PyTorch checkpoint;
// transformers' and ml-cvnets' names load as they are, their BGR stems swapped): the label count is read from the
// file's classifier when not given, and a file whose classifier has another count is an error, not a fine-tune.
// `forward` and `export` both load the dense networks through here.
import { anchorsPerCell, SSD_ANCHORS } from './anchors.ts';
import type { DetectionModel } from './detection.ts';
import { labelsInMetadata } from './from-file.ts';
import { createNetwork } from './networks.ts';
import { familyOf, type NetworkName } from './registry/index.ts';
import type { SafetensorsFile, TensorMap } from './safetensors.ts';
import type { SegmentationModel } from './segmentation.ts';
import { readWeightsFile } from './weights-file.ts';
import { loadWeights, type LoadReport } from './weights.ts';

export type DenseNetwork = SegmentationModel | DetectionModel;

/** The label count a weights file was made for (the background included), read from its classifier. */
function classesInFile(task: 'segmentation' | 'detection', tensors: TensorMap): number | undefined {
  if (task === 'segmentation') return tensors.get('segmentation_head.classifier.convolution.bias')?.shape[0];
  // The first level's head predicts, per cell, its anchors × (4 deltas + classes).
  const bias = tensors.get('ssd_heads.0.loc_cls_layer.pw_conv.block.conv.bias');
  return bias ? bias.shape[0] / anchorsPerCell(SSD_ANCHORS.aspectRatios[0]) - 4 : undefined;
}

export interface DenseFromWeights {
  network: DenseNetwork;
  report: LoadReport;
  /** Label names stored in the file's metadata (`labels`), when they fit its classifier. */
  labels: string[] | null;
}

/** Loads `path` into a new `name` network; `numClasses` (background included) defaults to the file's, else the family's. */
export function denseNetworkFromWeights(name: NetworkName, path: string, numClasses?: number): DenseFromWeights {
  return denseNetworkFromFile(name, readWeightsFile(path), path, numClasses);
}

/** denseNetworkFromWeights for a file already read (a run's checkpoint names its network in its metadata). */
export function denseNetworkFromFile(name: NetworkName, { tensors, metadata }: SafetensorsFile, path: string, numClasses?: number): DenseFromWeights {
  const family = familyOf(name);
  if (family?.task !== 'segmentation' && family?.task !== 'detection') throw new RangeError(`${name} is not a segmentation or detection network`);
  const classes = numClasses ?? classesInFile(family.task, tensors) ?? family.defaultClasses;
  const network = createNetwork(name, classes) as DenseNetwork;
  try {
    const report = loadWeights(network, tensors, { source: path, allowHeadMismatch: false });
    return { network, report, labels: labelsInMetadata(metadata, classes) };
  } catch (e) {
    network.dispose();
    throw e;
  }
}
