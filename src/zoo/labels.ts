// The 1000 ImageNet-1k class names in the ILSVRC-2012 order that timm's and transformers' classifiers use.
// The data file was extracted once from @tensorflow-models/mobilenet (Apache-2.0); it is not a dependency.
import data from './imagenet-classes.json' with { type: 'json' };

export const IMAGENET_CLASSES: readonly string[] = data.classes;

/** The class names a zoo label set stands for. */
export function zooLabels(set: 'imagenet-1k'): readonly string[] {
  if (set !== 'imagenet-1k') throw new RangeError(`unknown label set ${String(set)}`);
  return IMAGENET_CLASSES;
}
