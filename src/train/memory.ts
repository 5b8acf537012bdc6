// How many images one forward/backward pass may hold. The wasm backend lives in a 32-bit heap that
// ends at 4 GB, and running past it does not throw a clean error: it corrupts memory ("memory access
// out of bounds", "divide by zero") and the process cannot go on. Training XXS at 256 px with the
// default batch of 32 needs about 8 GB of activations there, so on wasm a batch is trained in
// slices that fit (Trainer.step's gradient accumulation). Other backends take the batch whole.
import type { VariantName } from '../model/types.ts';

/**
 * Peak tensor bytes of one training pass per image pixel, measured on wasm with tf.profile
 * (128 px, batch 2, this code base's model with its custom BatchNorm/SiLU/LayerNorm gradients and the
 * wasm gradient kernels); it scales linearly with batch and pixels.
 */
const BYTES_PER_IMAGE_PIXEL: Record<VariantName, number> = {
  mobilevit_xxs: 3.83e3,
  mobilevit_xs: 7.98e3,
  mobilevit_s: 11.04e3,
  mobilenet_v2: 4.45e3,
};

/** What a training pass may take of wasm's 4 GB, leaving room for the heap's growth steps and fragmentation. */
export const WASM_PASS_BUDGET_BYTES = 2.5 * 2 ** 30;

/** Images per pass at `size` px on `backend` (Infinity: no limit). */
export function imagesPerPass(backend: string, variant: VariantName, size: number): number {
  if (backend !== 'wasm') return Infinity;
  return Math.max(1, Math.floor(WASM_PASS_BUDGET_BYTES / (BYTES_PER_IMAGE_PIXEL[variant] * size * size)));
}

/** A wasm heap overrun surfaces as one of these WebAssembly runtime errors. */
export function isWasmMemoryFault(e: unknown): boolean {
  return e instanceof WebAssembly.RuntimeError || /memory access out of bounds|Aborted\(|out of memory/i.test(String((e as Error)?.message ?? e));
}
