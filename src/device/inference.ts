// A model opened on a compute device for inference: the evaluation loop's EvalModel (train/evaluate.ts) and
// predict's logits, computed where the device keeps its tensors (on wasm-workers split by images across its
// threads). A prediction on the in-process device runs the model itself: it is already there.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/model.ts';
import { stateDict } from '../model/weights.ts';
import { LocalDevice, type ComputeDevice } from './device.ts';
import { openResident } from './resident.ts';
import type { Weights } from './wire.ts';

export interface DeviceModel {
  /** Inference-mode logits of x [n, size, size, 3] on the device, as a tensor of this process. */
  forward(x: tf.Tensor4D): Promise<tf.Tensor2D>;
  dispose(): Promise<void>;
}

/** Sends `model`'s weights to the device; the returned model answers there until disposed. */
export async function openForInference(device: ComputeDevice, model: Model): Promise<DeviceModel> {
  await device.call({ op: 'open', model: { variant: model.variant, numClasses: model.numClasses }, weights: stateDict(model) });
  return {
    ...logitsOn(device),
    async dispose() {
      await device.call({ op: 'close' }).catch(() => undefined); // a lost device holds nothing any more
    },
  };
}

/** The model the device holds, as the evaluation loop's model: inference-mode logits with its live or averaged weights. */
export function logitsOn(device: ComputeDevice, weights: Weights = 'live'): { forward(x: tf.Tensor4D): Promise<tf.Tensor2D> } {
  return {
    async forward(x) {
      const rows = await device.call({ op: 'logits', x: (await x.data()) as Float32Array, shape: x.shape, weights });
      return tf.tensor2d(rows, [x.shape[0], rows.length / x.shape[0]]);
    },
  };
}

/** Inference-mode logits of x with `model`'s weights on the device: the model itself when the device is this process. */
export async function deviceLogits(device: ComputeDevice, model: Model, x: tf.Tensor4D): Promise<tf.Tensor2D> {
  if (device instanceof LocalDevice) return model.forward(x, { training: false });
  await openResident(device, model); // left there, as inspection leaves it: the next question of these weights sends none
  return logitsOn(device).forward(x);
}
