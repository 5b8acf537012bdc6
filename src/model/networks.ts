// Builds any network the studio knows by name (network-names.ts): the classifiers (variants.ts), DeepLabv3
// segmentation (segmentation.ts) and SSDLite detection (detection.ts), all on the same MobileViT backbone tables.
import { DetectionModel } from './detection.ts';
import { createModel, type Model } from './model.ts';
import { NETWORK_NAMES, taskOf, type DetectionVariantName, type NetworkName, type SegmentationVariantName } from './network-names.ts';
import { SegmentationModel } from './segmentation.ts';
import type { VariantName } from './types.ts';

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
