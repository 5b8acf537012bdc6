// The memory a pass on a device may plan on (src/train/memory.ts): the device's backend, and what this process's
// heap holds already. Shared by the engine's requests and the CLI's commands, which both compute on a device.
import * as tf from '@tensorflow/tfjs';
import type { Heap, PlannedPass } from '../model/memory.ts';
import { checkPassBudget } from './pass-budget.ts';
import { LocalDevice, type ComputeDevice } from './device.ts';

/**
 * The heap a pass on `device` runs in. This process's holds the kept model and whatever else is alive; a page's
 * or a worker's holds little besides the model's weights, which the estimate's headroom covers.
 */
export function heapOf(device: ComputeDevice): Heap {
  return { backend: device.info.tfBackend, inUseBytes: device instanceof LocalDevice ? tf.memory().numBytes : 0 };
}

/** Throws one line naming the limit and what to lower when `pass` would not fit the device's memory. */
export function checkFits(device: ComputeDevice, pass: PlannedPass): void {
  checkPassBudget(pass, heapOf(device));
}
