// The frozen backbone's pooled features on onnxruntime-node: the studio's own ONNX export of the model (the same
// graph `export --format onnx` writes, verified against TF.js in test/export) ending in the pooled features
// instead of the classifier. A quick fine-tune computes its feature rows here when this runtime is the faster
// one on the machine (train/feature-runtime.ts); the rows agree with Model.features on TF.js within float noise.
import type { Model } from '../model/model.ts';
import { stateDict } from '../model/weights.ts';
import { encodeModel, OnnxGraph } from './onnx-graph.ts';
import { pooledFeatures } from './onnx-layers.ts';
import { emitClassifier } from './onnx-networks.ts';
import { DEFAULT_OPSET, ONNX_INPUT } from './onnx.ts';
import { OrtWorkers } from './ort-workers.ts';

export const FEATURES_OUTPUT = 'features';

/** `model`'s backbone at `size` px as ONNX: input `pixels` NCHW [batch, 3, size, size], output `features` [batch, numFeatures]. */
export function exportFeaturesOnnx(model: Model, size: number): Uint8Array {
  const g = new OnnxGraph(DEFAULT_OPSET);
  const ctx = { g, weights: stateDict(model) };
  const out = emitClassifier(ctx, ONNX_INPUT, size, model.spec, (c, x) => pooledFeatures(c, x, 'features'));
  return encodeModel(g, {
    input: { name: ONNX_INPUT, dims: ['batch', 3, size, size] },
    output: { name: FEATURES_OUTPUT, dims: ['batch', model.spec.numFeatures] },
  }, out, { variant: model.variant, output: 'pooled backbone features' }, model.variant);
}

/**
 * Inference-mode pooled features of `model` at one input size on onnxruntime, on `threads` single-thread sessions
 * in worker threads (ort-workers.ts: each batch cut across them); dispose() when done.
 */
export class OrtFeatures {
  private constructor(private readonly workers: OrtWorkers, readonly size: number) {}

  static async create(model: Model, size: number, threads: number): Promise<OrtFeatures> {
    const workers = await OrtWorkers.start(exportFeaturesOnnx(model, size), { input: ONNX_INPUT, outputs: [{ name: FEATURES_OUTPUT, perImage: true }], threads });
    return new OrtFeatures(workers, size);
  }

  /** Sessions running at once. */
  get threads(): number {
    return this.workers.threads;
  }

  /** n NHWC images in [0, 1] → features [n, numFeatures] row-major. */
  async features(nhwc: Float32Array, n: number): Promise<Float32Array> {
    const [rows] = await this.workers.run(nhwc, n, this.size, this.size);
    return rows.data;
  }

  dispose(): Promise<void> {
    return this.workers.close();
  }
}
