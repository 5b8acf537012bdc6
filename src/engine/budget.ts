// Inspection requests are checked against the memory their pass needs before any tensor of them exists: on
// wasm a pass that runs past the 4 GB heap aborts the module, and every later request with it (train/memory.ts).
import type { ComputeDevice } from '../device/device.ts';
import { checkFits, heapOf } from '../device/heap.ts';
import { imagesThatFit, passBudget, type PlannedPass } from '../train/memory.ts';
import { engineDevices } from './devices.ts';

/** The engine's device, once `pass` is known to fit its memory; otherwise one line naming the limit and what to lower. */
export async function budgetedDevice(pass: PlannedPass): Promise<ComputeDevice> {
  const device = await engineDevices.current();
  checkFits(device, pass);
  return device;
}

/**
 * The batch an evaluation at `pass.size` px runs in on the engine's device: at most `pass.images`, and no more
 * than fit its memory (the results do not depend on the batch in eval mode); one image that does not fit is refused.
 */
export async function budgetedBatch(pass: PlannedPass): Promise<{ device: ComputeDevice; batch: number }> {
  const device = await budgetedDevice({ ...pass, images: 1 });
  const heap = heapOf(device);
  return { device, batch: Math.min(pass.images, imagesThatFit(passBudget(heap.backend, heap.inUseBytes), pass.variant, pass.size, pass.kind)) };
}
