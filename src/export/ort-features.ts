// The frozen backbone's pooled features on onnxruntime-node: the studio's own ONNX export of the model (the same
// graph `export --format onnx` writes, verified against TF.js in test/export) ending in the pooled features
// instead of the classifier. A quick fine-tune computes its feature rows here when this runtime is the faster
// one on the machine (train/feature-runtime.ts); the rows agree with Model.features on TF.js within float noise.
import type { Model } from '../model/model.ts';
import { stateDict } from '../model/weights.ts';
import { encodeModel, OnnxGraph } from './onnx-graph.ts';
import { pooledFeatures } from './onnx-layers.ts';
import { emitMobileNetV2, emitMobileViT } from './onnx-networks.ts';
import { DEFAULT_OPSET, ONNX_INPUT } from './onnx.ts';
import { createOrtSession, loadOrt, nhwcToNchw, type OrtSession } from './ort.ts';

export const FEATURES_OUTPUT = 'features';

/** `model`'s backbone at `size` px as ONNX: input `pixels` NCHW [batch, 3, size, size], output `features` [batch, numFeatures]. */
export function exportFeaturesOnnx(model: Model, size: number): Uint8Array {
  const g = new OnnxGraph(DEFAULT_OPSET);
  const ctx = { g, weights: stateDict(model) };
  const spec = model.spec;
  const features = (c: typeof ctx, x: string) => pooledFeatures(c, x, 'features');
  const out = spec.family === 'mobilevit' ? emitMobileViT(ctx, ONNX_INPUT, [size, size], spec, features) : emitMobileNetV2(ctx, ONNX_INPUT, spec, features);
  return encodeModel(g, {
    input: { name: ONNX_INPUT, dims: ['batch', 3, size, size] },
    output: { name: FEATURES_OUTPUT, dims: ['batch', spec.numFeatures] },
  }, out, { variant: model.variant, output: 'pooled backbone features' }, model.variant);
}

/** Inference-mode pooled features of `model` at one input size on onnxruntime; dispose() when done. */
export class OrtFeatures {
  private constructor(private readonly session: OrtSession, readonly size: number, readonly dim: number) {}

  static async create(model: Model, size: number, threads: number): Promise<OrtFeatures> {
    return new OrtFeatures(await createOrtSession(exportFeaturesOnnx(model, size), { threads }), size, model.spec.numFeatures);
  }

  /** n NHWC images in [0, 1] → features [n, dim] row-major. */
  async features(nhwc: Float32Array, n: number): Promise<Float32Array> {
    const ort = await loadOrt();
    const input = new ort.Tensor('float32', nhwcToNchw(nhwc, n, this.size, this.size), [n, 3, this.size, this.size]);
    try {
      const out = (await this.session.run({ [ONNX_INPUT]: input }))[FEATURES_OUTPUT];
      const rows = new Float32Array(out.data as Float32Array);
      out.dispose?.();
      if (rows.length !== n * this.dim) throw new Error(`onnxruntime returned ${rows.length} features for ${n} images of ${this.dim}`);
      return rows;
    } finally {
      input.dispose?.();
    }
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}
