// A model left on a compute device between questions: inspection asks many of the same model in a row (the UI's
// attention clicks, receptive fields, predictions), and sending every weight (megabytes, to a page over a
// WebSocket) and rebuilding the model there cost more than most answers. After an open the device keeps the
// model until another call may change it (a run's open, a step, an evaluation's close: the device counts them,
// ComputeDevice.modelChanges); a fingerprint of the variant, the classes and every weight's bytes says whether
// the model asked for is the one it holds. Other weights (another run, a new checkpoint, a training step on the
// same model object) have another fingerprint, and are sent.
import type { AnyNetwork } from '../model/networks.ts';
import { stateDict } from '../model/weights.ts';
import type { ComputeDevice } from './device.ts';

/** Per device: the fingerprint of the model it was last sent here, and its change count just after that open. */
const held = new WeakMap<ComputeDevice, { fingerprint: string; changes: number }>();

/** Opens `model` (inference only) on `device` unless the device still holds these very weights from an earlier call. */
export async function openResident(device: ComputeDevice, model: AnyNetwork): Promise<void> {
  const fingerprint = fingerprintOf(model);
  const last = held.get(device);
  if (last && device.modelChanges !== undefined && last.changes === device.modelChanges && last.fingerprint === fingerprint) return;
  held.delete(device);
  const opened = device.call({ op: 'open', model: { variant: model.variant, numClasses: model.numClasses }, weights: stateDict(model) });
  const changes = device.modelChanges; // read at once: this open's own count (a call made meanwhile counts past it)
  await opened;
  if (changes !== undefined) held.set(device, { fingerprint, changes });
}

/**
 * The variant, the classes, every parameter's key and shape, and two 32-bit hashes over every weight's bits
 * (each step a bijection of the state, so one changed word always changes both; several, with odds of 2^-64).
 */
export function fingerprintOf(model: AnyNetwork): string {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  const keys: string[] = [];
  for (const [key, p] of model.params) {
    keys.push(`${key}:${p.variable.shape.join('x')}`);
    const data = p.variable.dataSync() as Float32Array;
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      a = Math.imul(a ^ w, 0x01000193);
      b = Math.imul(((b ^ w) << 13) | ((b ^ w) >>> 19), 0x5bd1e995);
    }
  }
  return JSON.stringify([model.variant, model.numClasses, keys.join(','), a >>> 0, b >>> 0]);
}
