// The contract's devices domain: what computes (the backend report) and the measured speeds 'auto' chooses by.
import { z } from 'zod';
import { VariantName } from './common.ts';

/** The compute device the engine holds open (src/device/wire.ts's DeviceInfo, for the window). */
export const DeviceReport = z.object({
  /** The studio's name: an in-process backend (wasm, tensorflow…) or a page one (webgpu, webgl, wasm-threads). */
  name: z.string(),
  /** "this process", "headless Chromium 150…", "Electron hidden window…". */
  host: z.string(),
  /** The GPU adapter or CPU threads, in a user's words. */
  adapter: z.string().nullable(),
  /** A software GPU adapter (SwiftShader): correct but slow. */
  software: z.boolean(),
});
export type DeviceReport = z.infer<typeof DeviceReport>;

export const BackendReport = z.object({
  /** The studio's name of what computes: an in-process backend (tensorflow, wasm, cpu…) or a page one (webgpu…). */
  active: z.string(),
  /** Whether the active backend runs on a GPU. */
  gpu: z.boolean(),
  /** Why this backend was picked, one line. */
  reason: z.string(),
  tried: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
  /** How to get a faster backend on this machine, when there is one. */
  fasterHint: z.string().optional(),
  /** The compute device the engine holds open (src/device/): which, where, and on which adapter. */
  device: DeviceReport.optional(),
});
export type BackendReport = z.infer<typeof BackendReport>;

/** One device's measured training speed (src/device/auto.ts), or why it has none. */
export const DeviceSpeed = z.object({
  device: z.string(),
  /** Null: its page did not start. */
  host: z.string().nullable(),
  adapter: z.string().nullable(),
  software: z.boolean(),
  /** Training images per second (forward + backward + optimizer step); null: not measured. */
  imagesPerSecond: z.number().positive().nullable(),
  /** Why there is no number (did not start, skipped by a rule, failed), in a user's words. */
  note: z.string().nullable(),
});
export type DeviceSpeed = z.infer<typeof DeviceSpeed>;

/** The devices of this machine measured on one variant and size, and the one 'auto' takes. */
export const DeviceSpeeds = z.object({
  variant: VariantName,
  imageSize: z.number().int().positive(),
  batch: z.number().int().positive(),
  /** When it was measured, ms since 1970. */
  measuredAt: z.number(),
  rows: z.array(DeviceSpeed),
  chosen: z.string().nullable(),
  /** Why that one, one line. */
  reason: z.string(),
});
export type DeviceSpeeds = z.infer<typeof DeviceSpeeds>;

/** Where inference-mode work (a quick run's features, evaluation passes, predict) computes: the runtime rule's choices. */
export const INFERENCE_RUNTIMES = ['tfjs', 'onnxruntime'] as const;
export type InferenceRuntime = (typeof INFERENCE_RUNTIMES)[number];

/** A choice of the rule kept for this machine: the model, size and device TF.js ran on, the runtime, and why. */
export const KeptRuntime = z.object({
  variant: z.string(),
  size: z.number().int().positive(),
  device: z.string(),
  runtime: z.enum(INFERENCE_RUNTIMES),
  reason: z.string(),
  measuredAt: z.number(),
});
export type KeptRuntime = z.infer<typeof KeptRuntime>;
