// Builds any network the model registry names: its family's task picks the network (a classifier, DeepLabv3
// segmentation or SSDLite detection) and its entry's layer table the layers.
import { DetectionModel } from './detection.ts';
import { createModel, type Model } from './model.ts';
import { SegmentationModel } from './segmentation.ts';
import { familyOf, NETWORK_NAMES, type DetectionVariantName, type NetworkName, type SegmentationVariantName, type VariantName } from './registry/index.ts';

export type AnyNetwork = Model | SegmentationModel | DetectionModel;

/**
 * Builds `name` with `numClasses` outputs (segmentation and detection count the background), by default its
 * family's (ImageNet's 1000 classes, VOC's 21, COCO's 81).
 */
export function createNetwork(name: NetworkName, numClasses?: number, seed = 0): AnyNetwork {
  const family = familyOf(name);
  if (!family) throw new Error(`unknown network "${name}" (expected one of ${NETWORK_NAMES.join(', ')})`);
  const classes = numClasses ?? family.defaultClasses;
  switch (family.task) {
    case 'classification': return createModel(name as VariantName, { numClasses: classes, seed });
    case 'segmentation': return new SegmentationModel(name as SegmentationVariantName, classes, seed);
    case 'detection': return new DetectionModel(name as DetectionVariantName, classes, seed);
  }
}
