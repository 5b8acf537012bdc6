// What the registry answers: which networks exist, what a name or alias means, and each one's family and
// task. Everything is derived from FAMILIES (families.ts), so a variant added to a family is known to the
// CLI, the contract, the window and the builders without another edit.
import { FAMILIES } from './families.ts';
import type { ClassifierEntry, ClassifierFamily, DenseEntry, DenseFamily, Family, Task } from './types.ts';

type Families = (typeof FAMILIES)[number];
type NameOf<F> = F extends { variants: readonly (infer E)[] } ? (E extends { name: infer N extends string } ? N : never) : never;

/** Every network's name. */
export type NetworkName = NameOf<Families>;
/** The classifiers' names (the networks the studio trains). */
export type VariantName = NameOf<Extract<Families, { task: 'classification' }>>;
export type SegmentationVariantName = NameOf<Extract<Families, { task: 'segmentation' }>>;
export type DetectionVariantName = NameOf<Extract<Families, { task: 'detection' }>>;

const families: readonly Family[] = FAMILIES;
const FAMILY_OF = new Map<string, Family>(families.flatMap((f) => f.variants.map((v) => [v.name, f] as const)));

function namesOf<N extends string>(task: Task): readonly [N, ...N[]] {
  return families.filter((f) => f.task === task).flatMap((f) => f.variants.map((v) => v.name)) as unknown as [N, ...N[]];
}

/** Every network, family by family. */
export const NETWORK_NAMES = [...FAMILY_OF.keys()] as readonly NetworkName[];
/** The classifiers, as a non-empty tuple (the contract's enum is built from it). */
export const VARIANT_NAMES = namesOf<VariantName>('classification');

export function familyOf(name: string): Family | undefined {
  return FAMILY_OF.get(name);
}

export function taskOf(name: string): Task | undefined {
  return FAMILY_OF.get(name)?.task;
}

/** A classifier's registry entry; an Error naming the classifiers for any other name. */
export function classifierEntry(name: string): ClassifierEntry {
  const f = FAMILY_OF.get(name);
  if (f?.task !== 'classification') throw new Error(`unknown variant "${name}" (expected one of ${VARIANT_NAMES.join(', ')})`);
  return (f as ClassifierFamily).variants.find((v) => v.name === name)!;
}

/** A segmentation or detection network's registry entry, checked to serve `task`. */
export function denseEntry(name: string, task: 'segmentation' | 'detection'): DenseEntry {
  const f = FAMILY_OF.get(name);
  if (f?.task !== task) throw new Error(`unknown ${task} variant "${name}" (expected one of ${namesOf(task).join(', ')})`);
  return (f as DenseFamily).variants.find((v) => v.name === name)!;
}

/** The classifiers' entries, for matching a dense network's backbone to the classifier that has it. */
const CLASSIFIER_ENTRIES = families.filter((f): f is ClassifierFamily => f.task === 'classification').flatMap((f) => f.variants);

/**
 * The classifier whose layers a network is built on: itself for a classifier, the backbone's classifier for a
 * segmentation or detection network (deeplabv3_mobilevit_xs → mobilevit_xs); undefined for an unknown name.
 */
export function backboneOf(name: string): VariantName | undefined {
  const f = FAMILY_OF.get(name);
  if (f === undefined) return undefined;
  if (f.task === 'classification') return name as VariantName;
  const entry = (f as DenseFamily).variants.find((v) => v.name === name)!;
  return CLASSIFIER_ENTRIES.find((c) => c.spec === entry.spec.backbone)?.name as VariantName | undefined;
}

/** The network of `task` built on classifier `variant`'s backbone (segmentation, mobilevit_xs → deeplabv3_mobilevit_xs). */
export function networkOn(task: Task, variant: string): NetworkName | undefined {
  return NETWORK_NAMES.find((n) => taskOf(n) === task && backboneOf(n) === variant);
}

/** networkOn, or an Error naming the backbones that have a network of `task`. */
export function requireNetworkOn(task: Task, variant: string): NetworkName {
  const network = networkOn(task, variant);
  if (network !== undefined) return network;
  const backbones = NETWORK_NAMES.filter((n) => taskOf(n) === task).map(backboneOf);
  throw new Error(`training settings: variant ${variant} has no ${task} network (${task} backbones: ${backbones.join(', ')})`);
}

// A Map, not an object literal: a name like "constructor" or "__proto__" must not find Object.prototype's members.
const CLASSIFIER_NAMES = new Map<string, VariantName>(families.filter((f) => f.task === 'classification').flatMap((f) =>
  f.variants.flatMap((v) => [v.name, ...(v.aliases ?? [])].map((a) => [a, v.name as VariantName] as const))));

/** A classifier's name or alias (`xxs`, `mobilevit-s`, `mobilenetv2`), case-insensitive; a RangeError naming the choices otherwise. */
export function parseVariant(name: string | undefined): VariantName {
  const found = CLASSIFIER_NAMES.get((name ?? '').replace(/-/g, '_').toLowerCase());
  if (!found) throw new RangeError(`unknown variant ${JSON.stringify(String(name ?? '')).slice(0, 80)} (expected one of ${VARIANT_NAMES.join(', ')})`);
  return found;
}
