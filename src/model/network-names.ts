// The names of every network the studio can build and the task each serves, free of TensorFlow.js so that the
// CLI's help and argument checks read them without loading a backend. The tables behind the names are in
// variants.ts (classifiers), segmentation.ts (DeepLabv3) and detection.ts (SSDLite); networks.ts builds them.
import { VARIANT_NAMES, type VariantName } from './types.ts';

export const SEGMENTATION_VARIANT_NAMES = ['deeplabv3_mobilevit_xxs', 'deeplabv3_mobilevit_xs', 'deeplabv3_mobilevit_s'] as const;
export type SegmentationVariantName = (typeof SEGMENTATION_VARIANT_NAMES)[number];

export const DETECTION_VARIANT_NAMES = ['ssdlite_mobilevit_xxs', 'ssdlite_mobilevit_xs', 'ssdlite_mobilevit_s'] as const;
export type DetectionVariantName = (typeof DETECTION_VARIANT_NAMES)[number];

export type Task = 'classification' | 'segmentation' | 'detection';
export type NetworkName = VariantName | SegmentationVariantName | DetectionVariantName;

export const NETWORK_NAMES: readonly NetworkName[] = [...VARIANT_NAMES, ...SEGMENTATION_VARIANT_NAMES, ...DETECTION_VARIANT_NAMES];

export function taskOf(name: string): Task | undefined {
  if ((VARIANT_NAMES as readonly string[]).includes(name)) return 'classification';
  if ((SEGMENTATION_VARIANT_NAMES as readonly string[]).includes(name)) return 'segmentation';
  if ((DETECTION_VARIANT_NAMES as readonly string[]).includes(name)) return 'detection';
  return undefined;
}

/** The usual label count of a task's reference data: ImageNet, PASCAL VOC (with background), COCO (with background). */
export const DEFAULT_CLASSES: Record<Task, number> = { classification: 1000, segmentation: 21, detection: 81 };
