// A studio model run on onnxruntime: exported in memory at one input size, then used where a TF.js model
// would be (predict, eval: train/inference-model.ts, when the runtime rule picks it). forward() takes and returns TF.js tensors so evaluation code stays the same.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../model/model.ts';
import { exportOnnx } from './onnx.ts';
import { createOrtSession, ortLogits, type OrtSession } from './ort.ts';

export class OrtModel {
  private constructor(private readonly session: OrtSession, readonly imageSize: number, readonly numClasses: number) {}

  static async create(model: Model, imageSize: number, threads = 2): Promise<OrtModel> {
    const session = await createOrtSession(exportOnnx(model, { imageSize }), { threads });
    return new OrtModel(session, imageSize, model.numClasses);
  }

  /** NHWC images in [0, 1] → logits [b × classes] row-major. */
  logits(nhwc: Float32Array, batch: number): Promise<Float32Array> {
    return ortLogits(this.session, nhwc, batch, this.imageSize, this.imageSize);
  }

  /** The EvalModel shape: a [B, S, S, 3] tensor in, logits as a tensor out. */
  async forward(x: tf.Tensor4D): Promise<tf.Tensor2D> {
    const [b, h, w] = x.shape;
    if (h !== this.imageSize || w !== this.imageSize) throw new Error(`onnxruntime model exported at ${this.imageSize} px got a ${h}×${w} batch`);
    const data = await this.logits((await x.data()) as Float32Array, b);
    return tf.tensor2d(data, [b, this.numClasses]);
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}
