// A segmentation or detection run started from a classifier's weights file: the network's backbone keeps the
// classifier's own keys and shapes (model/deeplabv3.ts, model/ssdlite.ts), so every backbone tensor (BatchNorm
// statistics included) is taken from the classifier the file holds, loaded and checked as any classifier file is
// (timm, Hugging Face or Apple names); what follows the backbone keeps the run's seeded start.
import { createModel } from '../model/model.ts';
import type { Param } from '../model/params.ts';
import type { VariantName } from '../model/registry/index.ts';
import type { SafetensorsFile } from '../model/safetensors.ts';
import { loadWeights } from '../model/weights.ts';

/**
 * Copies the backbone of `network` (every parameter `isHead` leaves) from the `backbone` classifier in `file`, read
 * from `path`; returns how many tensors it copied. One error naming the file when its classifier is another backbone.
 */
export function backboneFromClassifier(
  network: { variant: string; params: ReadonlyMap<string, Param> }, file: SafetensorsFile, path: string, backbone: VariantName, isHead: (key: string) => boolean,
): number {
  const classifier = createModel(backbone);
  try {
    loadWeights(classifier, file.tensors, { source: path, allowHeadMismatch: true });
    const unfit: string[] = [];
    const pairs = [...network.params].filter(([key]) => !isHead(key)).map(([key, p]) => {
      const from = classifier.params.get(key);
      if (!from || from.variable.shape.join('x') !== p.variable.shape.join('x')) unfit.push(key);
      return { to: p.variable, from: from?.variable };
    });
    if (unfit.length > 0) throw new Error(`${path} does not fit the backbone of ${network.variant}: ${unfit.length} tensor(s) missing or of another shape (${unfit.slice(0, 3).join(', ')}${unfit.length > 3 ? ', …' : ''})`);
    for (const { to, from } of pairs) to.assign(from!);
    return pairs.length;
  } finally {
    classifier.dispose();
  }
}
