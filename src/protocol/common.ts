// The contract's building blocks, used by several domains: names, paths, images, run ids, model references.
import { z } from 'zod';
import { MAX_INPUT_SIZE, MIN_INPUT_SIZE } from '../model/types.ts';
import { FAMILIES } from '../model/registry/families.ts';
import { NETWORK_NAMES, VARIANT_NAMES, backboneOf, type NetworkName as RegistryName } from '../model/registry/index.ts';
import type { Family, Task } from '../model/registry/types.ts';
import { DEVICE_NAMES } from '../backend/names.ts';
import { int, prob } from './fields.ts';

export const VariantName = z.enum(VARIANT_NAMES);
export type VariantName = z.infer<typeof VariantName>;
/** Any network of the registry: classifiers, DeepLabv3 and SSDLite networks (what inspection and profiles take). */
export const NetworkName = z.enum(NETWORK_NAMES as [RegistryName, ...RegistryName[]]);
export type NetworkName = z.infer<typeof NetworkName>;

/** A network as the window lists it (pickers, run rows): the model registry's facts, typed. */
export interface NetworkChoice {
  name: RegistryName;
  label: string;
  /** For tight table cells. */
  short: string;
  task: Task;
  /** The classifier whose layers it builds on (itself for a classifier): a run's settings name it as `variant`. */
  backbone: VariantName | undefined;
  /** Its family's label. */
  family: string;
  /** Whether it has attention to inspect. */
  attention: boolean;
  /** A baseline to compare with rather than a model of the paper. */
  baseline: boolean;
}

/** Every network of the model registry, family by family: what the window offers. */
export const NETWORKS: readonly NetworkChoice[] = (FAMILIES as readonly Family[]).flatMap((f) => f.variants.map((v) => ({
  name: v.name as RegistryName, label: v.label, short: v.short, task: f.task, backbone: backboneOf(v.name), family: f.label, attention: f.attention, baseline: f.baseline ?? false,
})));

/**
 * Which compute device to use: an in-process backend or a Chromium page one (webgpu, webgl, wasm-threads);
 * 'auto' measures them at the first training of a variant and size, and takes the fastest (src/device/choose.ts).
 */
export const BackendChoice = z.enum(['auto', ...DEVICE_NAMES]);
export type BackendChoice = z.infer<typeof BackendChoice>;

/** A filesystem path chosen by the user (dialog or typed). NUL bytes are refused: they truncate paths in C. */
export const FsPath = z
  .string()
  .min(1, 'path is empty')
  .max(4096, 'path is longer than 4096 characters')
  .refine((p) => !p.includes('\0'), 'path contains a NUL byte');

/** Image bytes carried inline, e.g. a file dropped on the window. Up to ~24 MB of image. */
export const ImageDataUrl = z
  .string()
  .max(32 * 1024 * 1024, 'image data URL is larger than 32 MB')
  .regex(/^data:image\/(png|jpeg|webp|gif|tiff|avif);base64,[A-Za-z0-9+/]+={0,2}$/, 'not a base64 image data URL');

/** A PNG/JPEG/WebP produced by the studio for display (thumbnails, overlays, heatmaps). */
export const DisplayDataUrl = z.string().regex(/^data:image\/(png|jpeg|webp);base64,/, 'not an image data URL');

export const ImageInput = z.union([
  z.object({ path: FsPath }).strict(),
  z.object({ dataUrl: ImageDataUrl }).strict(),
]);
export type ImageInput = z.infer<typeof ImageInput>;

export const RunId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'not a run id');

/** The input sides a model takes, px: the schema's rule, which the window's size fields show as their range. */
export const INPUT_SIZE_RANGE = { min: MIN_INPUT_SIZE, max: MAX_INPUT_SIZE } as const;

/** Class names for a model: as many as the model may have classes (100,000), each one short line. */
export const ClassLabels = z
  .array(z.string().max(200, 'a label is longer than 200 characters'))
  .min(1, 'labels is empty')
  .max(100_000, 'more than 100,000 labels (the most classes a model may have)');

/** The model a request runs on: a run's checkpoint, or a variant with optional imported weights. */
export const ModelRef = z.union([
  z.object({ runId: RunId, checkpoint: z.enum(['best', 'last']).default('best') }).strict(),
  z
    .object({
      // A classifier, or a segmentation or detection network (inspected as a run of its task is).
      variant: NetworkName,
      weights: FsPath.optional(), // safetensors with timm names; omitted: seeded random init
      numClasses: int(1, 100_000).optional(),
      labels: ClassLabels.optional(),
    })
    .strict(),
]);
export type ModelRef = z.infer<typeof ModelRef>;

export const Prediction = z.object({ index: z.number().int(), label: z.string(), prob });
export type Prediction = z.infer<typeof Prediction>;
