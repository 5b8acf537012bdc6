// The refusal of a pass that would not fit its backend's heap (the estimate is src/model/memory.ts's): one
// 'failed' StudioError a person can act on, naming the limit and what to lower. Pure: no tensors, no files.
import { MIN_INPUT_SIZE } from '../model/types.ts';
import { imagesThatFit, passBudget, passBytes, type Heap, type PlannedPass } from '../model/memory.ts';
import { StudioError } from '../protocol/contract.ts';

const MB = 2 ** 20;
const mb = (bytes: number) => `${Math.ceil(bytes / MB)} MB`;

/** The largest multiple of 32 px (the model's stride) at which `images` fit in `budget`, or null. */
function largestSize(p: PlannedPass, budget: number): number | null {
  for (let size = Math.floor((p.size - 1) / 32) * 32; size >= MIN_INPUT_SIZE; size -= 32) {
    if (imagesThatFit(budget, p.variant, size, p.kind) >= p.images) return size;
  }
  return null;
}

/** Throws a 'failed' StudioError naming the limit and what to lower when the pass would not fit in the heap. */
export function checkPassBudget(p: PlannedPass, heap: Heap): void {
  const limit = passBudget(heap.backend, heap.inUseBytes);
  const need = passBytes(p);
  if (need <= limit) return;
  const fitImages = imagesThatFit(limit, p.variant, p.size, p.kind);
  const fitSize = largestSize(p, limit);
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
  checkPassBudget({ ...p, images: 1 }, heap);
  return Math.min(p.images, imagesThatFit(passBudget(heap.backend, heap.inUseBytes), p.variant, p.size, p.kind));
}
