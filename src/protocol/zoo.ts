// The contract's zoo domain (src/zoo): ImageNet checkpoints on the Hugging Face Hub, cached in <workspace>/models.
import { z } from 'zod';
import { VariantName } from './common.ts';

export const ZooModel = z.object({
  name: z.string(),
  repo: z.string(),
  revision: z.string(),
  variant: VariantName,
  source: z.string(),
  /** Bytes on disk when cached, else the approximate download size. */
  size: z.number().int().nonnegative(),
  sizeApprox: z.boolean(),
  cached: z.boolean(),
  channels: z.enum(['RGB', 'BGR']),
  top1: z.number().nullable(),
});
export type ZooModel = z.infer<typeof ZooModel>;

/** A zoo short name (mobilevit_xxs) or repo id (timm/mobilevit_xxs.cvnets_in1k). */
export const ZooName = z.string().trim().min(1).max(200);

export const ZooPullResult = z.object({
  name: z.string(), repo: z.string(), revision: z.string(),
  /** The hub's file, whose sha256 and size these are. */
  path: z.string(), sha256: z.string(), size: z.number().int(),
  /** The file to train or inspect with (TrainSettings.weights, ModelRef.weights). */
  weights: z.string(),
  variant: VariantName,
  downloaded: z.boolean(),
  notes: z.array(z.string()),
});
export type ZooPullResult = z.infer<typeof ZooPullResult>;
