// The refusal of a pass that would not fit its backend's heap (the estimate is src/model/memory.ts's): one
// 'failed' StudioError a person can act on, naming the limit and what to lower. Pure: no tensors, no files.
import { MIN_INPUT_SIZE } from '../model/types.ts';
import { imagesThatFit, passBudget, passBytes, type Heap, type PassShape, type PlannedPass } from '../model/memory.ts';
import { backboneOf } from '../model/registry/index.ts';
import { StudioError } from '../protocol/contract.ts';

const MB = 2 ** 20;
const mb = (bytes: number) => `${Math.ceil(bytes / MB)} MB`;

/**
 * The pass the estimate plans: a segmentation or detection network's is its backbone classifier's (registry
 * backboneOf), as training plans it. The heads add little, but DeepLabv3's last stage keeps 1/16 (its attention
 * sees 4× the tokens): measured on wasm, one image's peak is 0.9–1.1× the backbone's inference estimate and up to
 * 1.4× its training estimate (DeepLabv3-XXS at 256 px: 320 MB of 232; at 512 px 1830 of 1534): a pass planned up
 * to the limit (memory.ts passBudget: 2.5 GB of an empty 4 GB heap) peaks near 3.5 GB, still inside the heap.
 */
function planned(p: PlannedPass): PassShape {
  const backbone = backboneOf(p.variant);
  if (backbone === undefined) throw new Error(`no memory plan for "${p.variant}": not a network the registry names`);
  return { variant: backbone, size: p.size, images: p.images, kind: p.kind };
}

/** The largest multiple of 32 px (the model's stride) at which `images` fit in `budget`, or null. */
function largestSize(p: PassShape, budget: number): number | null {
  for (let size = Math.floor((p.size - 1) / 32) * 32; size >= MIN_INPUT_SIZE; size -= 32) {
    if (imagesThatFit(budget, p.variant, size, p.kind) >= p.images) return size;
  }
  return null;
}

/**
 * Throws a 'failed' StudioError naming the limit and what to lower when the pass would not fit in the heap;
 * returns the pass as the estimate plans it (planned) when it fits.
 */
export function checkPassBudget(p: PlannedPass, heap: Heap): PassShape {
  const limit = passBudget(heap.backend, heap.inUseBytes);
  const shape = planned(p);
  const need = passBytes(shape);
  if (need <= limit) return shape;
  const fitImages = imagesThatFit(limit, shape.variant, shape.size, shape.kind);
  const fitSize = largestSize(shape, limit);
  const lower = [
    ...(p.images > 1 && fitImages >= 1 ? [`the batch to at most ${fitImages}`] : []),
    ...(fitSize !== null ? [`the image size to at most ${fitSize} px`] : []),
  ];
  const batch = p.images > 1 ? ` × batch ${p.images}` : '';
  throw new StudioError('failed',
    `${p.what} of ${p.variant} at ${p.size} px${batch} needs about ${mb(need)}, over the ${heap.backend} backend's limit of ${mb(limit)} `
    + `(its 4 GB heap, ${mb(heap.inUseBytes)} in use, less room to grow): `
    + `${lower.length ? `lower ${lower.join(' or ')}` : 'free memory in the engine (restart it)'}, or use a backend without the 4 GB ceiling (tfjs-node)`,
    { neededBytes: Math.round(need), limitBytes: Math.round(limit) });
}

/**
 * The most images of `p.images` one pass fits in the heap (inference results do not depend on the batch); a
 * pass where not even one image fits is refused as checkPassBudget does.
 */
export function batchThatFits(p: PlannedPass, heap: Heap): number {
  const one = checkPassBudget({ ...p, images: 1 }, heap);
  return Math.min(p.images, imagesThatFit(passBudget(heap.backend, heap.inUseBytes), one.variant, one.size, one.kind));
}
