// A classifier opened for inference-mode logits (evaluation passes, predict) on the runtime the rule picks
// (feature-runtime.ts chooseInferenceRuntime): onnxruntime-node on the studio's ONNX export of the model's
// current weights, made in memory, or TF.js on the compute device. Their logits agree within float noise
// (test/export/runtime.test.ts), so a result does not depend on the runtime beyond that; it says which computed it.
import type * as tf from '@tensorflow/tfjs';
import { describeDevice } from '../device/describe.ts';
import { openForInference } from '../device/inference.ts';
import { defaultThreads } from '../device/parallel.ts';
import { OrtModel } from '../export/ort-model.ts';
import type { Model } from '../model/model.ts';
import type { InferenceRuntime } from '../protocol/devices.ts';
import { chooseInferenceRuntime, openDecided, ortWhere, type FeatureSourceOptions } from './feature-runtime.ts';

export interface InferenceModel {
  runtime: InferenceRuntime;
  /** Where the logits are computed and why, in words (the result's line). */
  note: string;
  /** Inference-mode logits of x [n, size, size, 3], a tensor of this process. */
  forward(x: tf.Tensor4D): Promise<tf.Tensor2D>;
  dispose(): Promise<void>;
}

/** Opens `model` at `size` px where the rule says; onnxruntime that cannot start leaves TF.js on the device, saying why. */
export async function openInferenceModel(model: Model, size: number, o: FeatureSourceOptions): Promise<InferenceModel> {
  const threads = defaultThreads();
  const { runtime, why, source } = await openDecided<Logits>(await chooseInferenceRuntime(model, size, o), {
    tfjs: () => openForInference(o.device, model),
    onnxruntime: () => OrtModel.create(model, size, threads),
  });
  const where = runtime === 'onnxruntime' ? ortWhere(threads) : `TF.js on ${describeDevice(o.device)}`;
  return { runtime, note: `${where} (${why})`, forward: (x) => source.forward(x), dispose: () => source.dispose() };
}

/** Inference-mode logits on one runtime, released by dispose(). */
export type Logits = Pick<InferenceModel, 'forward' | 'dispose'>;
