// The fused softmax cross-entropy (kernels/softmax-xent.c) as a TF.js kernel of the studio's own name
// (util/kernel-traits.ts SOFTMAX_XENT_KERNEL); src/optim/segmentation-loss.ts uses it where it exists.
import * as tf from '@tensorflow/tfjs';
import { SOFTMAX_XENT_KERNEL } from '../util/kernel-traits.ts';
import type { KernelMaker } from './simd-kernel-types.ts';
import { offsetOf, wasmBackendOf } from '../util/wasm-memory.ts';

const softmaxXent: KernelMaker = (exportsFor) => (args) => {
  const { logits, labels } = args.inputs as { logits?: tf.TensorInfo; labels?: tf.TensorInfo };
  if (!logits || logits.dtype !== 'float32' || logits.shape.length !== 2) {
    throw new Error(`${SOFTMAX_XENT_KERNEL}: logits must be float32 [rows, classes], got ${logits ? `${logits.dtype} [${logits.shape}]` : 'none'}`);
  }
  const [rows, cols] = logits.shape;
  if (!labels || labels.dtype !== 'int32' || labels.shape.join() !== String(rows)) {
    throw new Error(`${SOFTMAX_XENT_KERNEL}: labels must be int32 [${rows}], got ${labels ? `${labels.dtype} [${labels.shape}]` : 'none'}`);
  }
  if (cols < 1) throw new Error(`${SOFTMAX_XENT_KERNEL}: logits need at least one class, got [${logits.shape}]`);
  const { ignore } = args.attrs as { ignore: number };
  const backend = wasmBackendOf(args);
  const [loss, grad] = [backend.makeOutput([], 'float32'), backend.makeOutput(logits.shape, 'float32')];
  const at = (t: tf.TensorInfo) => offsetOf(backend, t);
  exportsFor(backend).softmax_xent(at(logits), at(labels), at(grad), at(loss), rows, cols, ignore);
  return [loss, grad];
};

export const SOFTMAX_XENT_MAKERS: Record<string, KernelMaker> = { [SOFTMAX_XENT_KERNEL]: softmaxXent };
