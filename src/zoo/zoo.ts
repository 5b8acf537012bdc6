// The model zoo as data: pretrained checkpoints (ImageNet-1k classifiers, PASCAL VOC segmenters, COCO detectors)
// on the Hugging Face Hub or a publisher's site that load into the studio's networks. One typed row per model; nothing here touches the network, the disk or a tensor backend.
//
// The rows live with their family in the model registry (src/model/registry/), which says for each file its key
// names, channel order and normalisation; src/zoo/convert.ts turns a file into the studio's RGB [0, 1] input.
import { FAMILIES } from '../model/registry/families.ts';
import { parseVariant, taskOf, type NetworkName, type VariantName } from '../model/registry/index.ts';
import type { ZooEntry } from '../model/registry/types.ts';

/**
 * The zoo, in the order it is listed: timm's files first (they carry the studio's key names), then the others,
 * each family's in its own order.
 */
export const ZOO: readonly ZooEntry<NetworkName>[] = FAMILIES.flatMap((f): readonly ZooEntry<NetworkName>[] => f.zoo)
  .sort((a, b) => Number(a.source !== 'timm') - Number(b.source !== 'timm')); // a stable sort

/** Whether a row is a classifier's (the window starts classification runs from these). */
export function isClassifierRow(e: ZooEntry<NetworkName>): e is ZooEntry<VariantName> {
  return taskOf(e.variant) === 'classification';
}

/** Approximate download size: F32 weights plus BatchNorm buffers (a few percent more than 4 bytes a parameter). */
export function approxBytes(e: ZooEntry<NetworkName>): number {
  return Math.round(e.params * 4 * 1.02);
}

/**
 * The entry a name denotes: a short name (`mobilevit_xxs`, `xxs`, `apple_mobilevit_s`, `mobilenetv2_100`) or a
 * repo id (`timm/mobilevit_xxs.cvnets_in1k`, `apple/mobilevit-small`, `deeplabv3_mobilevit_s`), case-insensitive; an optional `@revision`
 * suffix on a repo id must equal the pinned one. Undefined when the name is none of these (a path, say).
 */
export function findZooEntry(name: string): ZooEntry<NetworkName> | undefined {
  const n = name.trim().toLowerCase();
  const [id, rev] = n.split('@', 2);
  const hit = ZOO.find((e) => e.repo.toLowerCase() === id)
    ?? ZOO.find((e) => e.name === id.replace(/-/g, '_'))
    ?? ZOO.find((e) => e.source === 'timm' && e.variant === variantNamed(id));
  if (hit && rev !== undefined && rev !== hit.revision.toLowerCase()) return undefined;
  return hit;
}

/** The classifier a name or alias denotes, if any (`xxs`, `mobilenetv2`). */
function variantNamed(name: string): VariantName | undefined {
  try {
    return parseVariant(name);
  } catch {
    return undefined;
  }
}

/** The entry a converted file came from, by the `source` its metadata records (`repo@revision/file`, src/zoo/convert.ts). */
export function zooEntryOfSource(source: string | undefined): ZooEntry<NetworkName> | undefined {
  return source === undefined ? undefined : ZOO.find((e) => source === `${e.repo}@${e.revision}/${e.file}`);
}
