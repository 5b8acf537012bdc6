// Inspection requests are checked against the memory their pass needs before any tensor of them exists: on
// wasm a pass that runs past the 4 GB heap aborts the module, and every later request with it (train/memory.ts).
import type { ComputeDevice } from '../device/device.ts';
import { checkFits } from '../device/heap.ts';
import type { PlannedPass } from '../model/memory.ts';
import type { EngineDevices } from './devices.ts';

/** The engine's device, once `pass` is known to fit its memory; otherwise one line naming the limit and what to lower. */
export async function budgetedDevice(devices: EngineDevices, pass: PlannedPass): Promise<ComputeDevice> {
  const device = await devices.current();
  checkFits(device, pass);
  return device;
}
