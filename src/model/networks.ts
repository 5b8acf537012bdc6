// Builds any network the model registry names: its family's task picks the network (a classifier, DeepLabv3
// segmentation or SSDLite detection) and its entry's layer table the layers.
import { DetectionModel } from './detection.ts';
import { createModel, type Model } from './model.ts';
import { SegmentationModel } from './segmentation.ts';
import { NETWORK_NAMES, taskOf, type DetectionVariantName, type NetworkName, type SegmentationVariantName, type VariantName } from './registry/index.ts';

export type AnyNetwork = Model | SegmentationModel | DetectionModel;

/** Builds `name` with `numClasses` outputs (segmentation and detection count the background). */
export function createNetwork(name: NetworkName, numClasses: number, seed = 0): AnyNetwork {
  switch (taskOf(name)) {
    case 'classification': return createModel(name as VariantName, { numClasses, seed });
    case 'segmentation': return new SegmentationModel(name as SegmentationVariantName, numClasses, seed);
    case 'detection': return new DetectionModel(name as DetectionVariantName, numClasses, seed);
    default: throw new Error(`unknown network "${name}" (expected one of ${NETWORK_NAMES.join(', ')})`);
  }
}
