// Inspection requests are checked against the memory their pass needs before any tensor of them exists: on
// wasm a pass that runs past the 4 GB heap aborts the module, and every later request with it (train/memory.ts).
import * as tf from '@tensorflow/tfjs';
import { LocalDevice, type ComputeDevice } from '../device/device.ts';
import { checkPassBudget, imagesThatFit, passBudget, type Heap, type PlannedPass } from '../train/memory.ts';
import { engineDevices } from './devices.ts';

/**
 * The heap a pass on `device` runs in. This process's holds the kept model and whatever else is alive; a page's
 * or a worker's holds little besides the model's weights, which the estimate's headroom covers.
 */
export function heapOf(device: ComputeDevice): Heap {
  return { backend: device.info.tfBackend, inUseBytes: device instanceof LocalDevice ? tf.memory().numBytes : 0 };
}

/** The engine's device, once `pass` is known to fit its memory; otherwise one line naming the limit and what to lower. */
export async function budgetedDevice(pass: PlannedPass): Promise<ComputeDevice> {
  const device = await engineDevices.current();
  checkPassBudget(pass, heapOf(device));
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
