// The memory one forward (and backward) pass needs, and what the backend can give it. The wasm backend lives
// in a 32-bit heap that ends at 4 GB, and running past it does not throw a clean error: it corrupts memory
// ("memory access out of bounds") and aborts the module, after which every call fails with "Aborted()" until
// the process is restarted. So on wasm a training batch is trained in slices that fit (Trainer.step's
// gradient accumulation), and every inspection request is checked against the same estimate before any
// tensor exists (src/device/pass-budget.ts). Training on other backends takes the batch whole.
import { classifierEntry, type NetworkName, type VariantName } from './registry/index.ts';
import { patchGrid } from './unfold.ts';

/** A training pass (forward, backward and the update) or an inference pass (forward in eval mode). */
export type PassKind = 'train' | 'infer';

/**
 * A pass's peak tensor bytes on wasm are each classifier's registry entry's `memory` (src/model/registry/): fitted to
 * tf.profile's peaks (batches of 1 and 4 at 128 and 256 px, this code base's model with its custom
 * BatchNorm/SiLU/LayerNorm gradients and the wasm gradient kernels) with the attention term below, rounded up. A
 * training step's peak is the larger of its passes' and its update's, which the fixed part takes whole
 * (MobileViT-S and MobileNetV2 update millions of weights); where the update hid the passes at 128 px, the pixels
 * alone carry the 256-px figure. The training figures were fitted before a pass's backward let go of what it had
 * used and each training block ran in its own tidy (optim/backward-release.ts, network.ts), and before the fused
 * LayerNorm, softmax and dropout: a training pass now peaks at under half of them (tf.profile's peak, XXS at 256 px,
 * one image: 105.9 of the estimate's 243.6 MB; at 96 px, three images: 36.9 of 92.2 MB). They are kept:
 * they set every run's pass size (imagesPerPass), and a run resumed after the change must cut its batches as
 * before to continue exactly; lower figures would only make passes larger, and wasm-workers' heaps with them.
 */

/**
 * Copies of every transformer layer's attention weights [P·B, heads, N, N] a pass holds at its peak (the
 * scores and their softmax; in training their gradients too): fitted on XXS at 128, 256 and 384 px, where
 * they grow with the fourth power of the size (2.9 and 5.4). They are what makes a 1024-px pass need gigabytes.
 */
const ATTENTION_COPIES: Record<PassKind, number> = { infer: 3, train: 6 };

/** Bytes of one copy of the attention weights of every transformer layer, for one image at `size` px. */
export function attentionBytes(variant: VariantName, size: number): number {
  const spec = classifierEntry(variant).spec;
  if (spec.family !== 'mobilevit') return 0;
  let side = Math.ceil(size / 2); // the stride-2 stem
  let bytes = 0;
  for (const stage of spec.stages) {
    if (stage.stride === 2) side = Math.ceil(side / 2);
    if (!stage.vit) continue;
    const grid = patchGrid(side, side, stage.vit.patch);
    const tokens = grid.rows * grid.cols;
    bytes += stage.vit.depth * stage.vit.heads * stage.vit.patch[0] * stage.vit.patch[1] * tokens * tokens * 4;
  }
  return bytes;
}

export interface PassShape {
  variant: VariantName;
  /** Square input side in px. */
  size: number;
  images: number;
  kind: PassKind;
}

/** Estimated peak bytes of one pass: the one estimate training and inspection both plan with. */
export function passBytes(p: PassShape): number {
  const f = classifierEntry(p.variant).memory[p.kind];
  return f.fixed + p.images * (f.perImage + f.perPixel * p.size * p.size + ATTENTION_COPIES[p.kind] * attentionBytes(p.variant, p.size));
}

/** wasm32's address space: a heap never grows past it. */
export const WASM32_HEAP_BYTES = 2 ** 32;

/**
 * The share of the heap left free that a pass may plan on, leaving room for the heap's growth steps and
 * fragmentation (2.5 GB of an empty heap: what training on wasm has used without an abort).
 */
const HEAP_HEADROOM = 0.625;

/**
 * The bytes a pass may plan on when `inUseBytes` of the heap are held already: on wasm what is left of the
 * 4 GB heap, less headroom; other backends have no such ceiling (Infinity).
 */
export function passBudget(backend: string, inUseBytes = 0): number {
  if (backend !== 'wasm') return Infinity;
  return Math.max(0, (WASM32_HEAP_BYTES - inUseBytes) * HEAP_HEADROOM);
}

/** The most images one pass of `kind` at `size` px fits in `budget` bytes (0: not even one; Infinity: no limit). */
export function imagesThatFit(budget: number, variant: VariantName, size: number, kind: PassKind): number {
  if (!Number.isFinite(budget)) return Infinity;
  const fixed = passBytes({ variant, size, images: 0, kind });
  const one = passBytes({ variant, size, images: 1, kind }) - fixed;
  return Math.max(0, Math.floor((budget - fixed) / one));
}

/**
 * Images per training pass at `size` px on `backend` (Infinity: no limit). Planned on an empty heap, not on
 * what the engine happens to hold: a run resumed in a fresh engine must slice its batches as the
 * uninterrupted run did, or it would not continue it exactly (the run's own weights are small next to the
 * headroom). At least 1: a size where not even one image fits is refused before training (checkPassBudget).
 */
export function imagesPerPass(backend: string, variant: VariantName, size: number): number {
  return Math.max(1, imagesThatFit(passBudget(backend), variant, size, 'train'));
}

/** The heap a pass would run in: its backend, and the bytes held there already. */
export interface Heap {
  backend: string;
  inUseBytes: number;
}

/**
 * A pass of any network the registry names, and what it is for, as the message names it ('inspect.predict'). A
 * segmentation or detection network is planned on its backbone's classifier (src/device/pass-budget.ts).
 */
export interface PlannedPass extends Omit<PassShape, 'variant'> {
  variant: NetworkName;
  what: string;
}

/**
 * A wasm heap overrun or abort, from TF.js's wasm module or onnxruntime's: the WebAssembly runtime's traps
 * and Emscripten's abort, or onnxruntime's failed allocation.
 */
export function isWasmMemoryFault(e: unknown): boolean {
  return e instanceof WebAssembly.RuntimeError
    || /memory access out of bounds|table index is out of bounds|Aborted\(|out of memory|bad_alloc|Cannot enlarge memory/i.test(String((e as Error)?.message ?? e));
}
