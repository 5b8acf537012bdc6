// The label sets of the zoo's files, in the order their classifiers predict them.
// ImageNet-1k: the ILSVRC-2012 order that timm's and transformers' classifiers use; the data file was extracted
// once from @tensorflow-models/mobilenet (Apache-2.0), which is not a dependency.
import type { LabelSet } from '../model/registry/types.ts';
import { VOC_CLASSES } from '../protocol/datasets.ts';
import data from './imagenet-classes.json' with { type: 'json' };

export const IMAGENET_CLASSES: readonly string[] = data.classes;

/** The 80 COCO object categories in the order of their ids (1…90 with the gaps closed), as ml-cvnets' SSD numbers them after the background. */
export const COCO_CLASSES: readonly string[] = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
  'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
  'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
];

/** The class names a zoo label set stands for (a dense set's background first, as its networks predict it). */
export function zooLabels(set: LabelSet): readonly string[] {
  switch (set) {
    case 'imagenet-1k': return IMAGENET_CLASSES;
    case 'voc-21': return VOC_CLASSES;
    case 'coco-81': return ['background', ...COCO_CLASSES];
    default: throw new RangeError(`unknown label set ${String(set)}`);
  }
}
