// A segmentation or detection network run on onnxruntime-node: the studio's own ONNX export of its current weights
// (onnx-dense.ts, verified against TF.js in test/export), made in memory at one square input size, and used where
// the TF.js network would be (predict, a run's evaluation: train/dense-inference.ts, when the runtime rule picks
// it). forward() answers what the network's forward answers, as TF.js tensors of this process: a segmentation
// network's logits NHWC at 1/16, a detector's raw box deltas and class logits with the anchors of the graph's size.
// The detector is exported without its post-processing, so the studio's one post-processing
// (model/detection-postprocess.ts) reads onnxruntime's outputs as it reads TF.js's.
import * as tf from '@tensorflow/tfjs';
import type * as OrtTypes from 'onnxruntime-node';
import type { DetectionModel, DetectorOutput } from '../model/detection.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { DETECTION_OUTPUTS, exportDetectionOnnx, exportSegmentationOnnx, SEGMENTATION_OUTPUT } from './onnx-dense.ts';
import { ONNX_INPUT } from './onnx.ts';
import { createOrtSession, loadOrt, nhwcToNchw, type OrtSession } from './ort.ts';

/** A session of one dense graph at `size` × `size`: runs a TF.js batch, returns the outputs' data and dims. */
class OrtDense {
  protected constructor(private readonly session: OrtSession, readonly size: number) {}

  protected async run(x: tf.Tensor4D, names: readonly string[]): Promise<{ data: Float32Array; dims: number[] }[]> {
    const [b, h, w] = x.shape;
    if (h !== this.size || w !== this.size) throw new Error(`onnxruntime model exported at ${this.size} px got a ${h}×${w} batch`);
    const ort = await loadOrt();
    const input = new ort.Tensor('float32', nhwcToNchw((await x.data()) as Float32Array, b, h, w), [b, 3, h, w]);
    let out: OrtTypes.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run({ [ONNX_INPUT]: input });
    } finally {
      input.dispose?.();
    }
    return names.map((name) => {
      const t = out[name];
      const r = { data: new Float32Array(t.data as Float32Array), dims: t.dims.map(Number) };
      t.dispose?.();
      return r;
    });
  }

  dispose(): Promise<void> {
    return this.session.release();
  }
}

export class OrtSegmentation extends OrtDense {
  static async create(model: SegmentationModel, size: number, threads: number): Promise<OrtSegmentation> {
    return new OrtSegmentation(await createOrtSession(exportSegmentationOnnx(model, { size: [size, size] }), { threads }), size);
  }

  /** The SegmentationModel shape: [B, S, S, 3] in, logits [B, ⌈S/16⌉, ⌈S/16⌉, classes] out (the graph's NCHW transposed). */
  async forward(x: tf.Tensor4D): Promise<tf.Tensor4D> {
    const [logits] = await this.run(x, [SEGMENTATION_OUTPUT]);
    return tf.tidy(() => tf.transpose(tf.tensor4d(logits.data, logits.dims as [number, number, number, number]), [0, 2, 3, 1]));
  }
}

export class OrtDetector extends OrtDense {
  private constructor(session: OrtSession, size: number, readonly numClasses: number) {
    super(session, size);
  }

  static async create(model: DetectionModel, size: number, threads: number): Promise<OrtDetector> {
    return new OrtDetector(await createOrtSession(exportDetectionOnnx(model, { size: [size, size] }), { threads }), size, model.numClasses);
  }

  /** The DetectionModel shape: [B, S, S, 3] in, box deltas [B, A, 4], class logits [B, A, classes] and the anchors out. */
  async forward(x: tf.Tensor4D): Promise<DetectorOutput> {
    const [deltas, logits, anchors] = await this.run(x, [DETECTION_OUTPUTS.boxDeltas, DETECTION_OUTPUTS.classLogits, DETECTION_OUTPUTS.anchors]);
    return {
      boxDeltas: tf.tensor3d(deltas.data, deltas.dims as [number, number, number]),
      classLogits: tf.tensor3d(logits.data, logits.dims as [number, number, number]),
      anchors: anchors.data,
    };
  }
}
