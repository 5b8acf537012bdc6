// A segmentation or detection network run on onnxruntime-node: the studio's own ONNX export of its current weights
// (onnx-dense.ts, verified against TF.js in test/export), made in memory at one square input size, and used where
// the TF.js network would be (predict, a run's evaluation: train/dense-inference.ts, when the runtime rule picks
// it). One image runs on one session on every core (its intra-op threads: predict, the Segment and Detect views);
// several are cut across one single-thread session per core on worker threads (ort-workers.ts: an evaluation's
// batches), opened at the first batch that has several. Each is the faster at its batch (docs/measured.md, *Dense
// inference on onnxruntime*: the workers 1.17–1.64× at batch 8 under load; at batch 1 neither clearly under load,
// and one session's two threads on a quiet machine).
// forward() answers what the network's forward answers, as TF.js tensors of this process: a segmentation
// network's logits NHWC at 1/16, a detector's raw box deltas and class logits with the anchors of the graph's
// size. The detector is exported without its post-processing, so the studio's one post-processing
// (model/detection-postprocess.ts) reads onnxruntime's outputs as it reads TF.js's.
import * as tf from '@tensorflow/tfjs';
import type { DetectionModel, DetectorOutput } from '../model/detection.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { DETECTION_OUTPUTS, exportDetectionOnnx, exportSegmentationOnnx, SEGMENTATION_OUTPUT } from './onnx-dense.ts';
import { ONNX_INPUT } from './onnx.ts';
import { createOrtSession, runImages, type OrtOutput, type OrtSession } from './ort.ts';
import { OrtWorkers, type OutputSpec } from './ort-workers.ts';

/**
 * One dense graph at `size` × `size` on onnxruntime: runs a TF.js batch, returns the outputs' data and dims. The
 * one-image session is opened with it, so a machine where onnxruntime cannot run the graph says so at the open.
 */
class OrtDense {
  private workers: Promise<OrtWorkers> | null = null;

  protected constructor(
    private readonly graph: Uint8Array, private readonly session: OrtSession, private readonly outputs: readonly OutputSpec[],
    private readonly threads: number, readonly size: number,
  ) {}

  protected async run(x: tf.Tensor4D): Promise<OrtOutput[]> {
    const [b, h, w] = x.shape;
    if (h !== this.size || w !== this.size) throw new Error(`onnxruntime model exported at ${this.size} px got a ${h}×${w} batch`);
    const nhwc = (await x.data()) as Float32Array;
    if (b === 1 || this.threads === 1) return runImages(this.session, nhwc, b, h, w, this.outputs.map((o) => o.name));
    this.workers ??= OrtWorkers.start(this.graph, { input: ONNX_INPUT, outputs: this.outputs, threads: this.threads });
    return (await this.workers).run(nhwc, b, h, w);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.session.release(), this.workers?.then((w) => w.close(), () => undefined)]);
  }
}

export class OrtSegmentation extends OrtDense {
  static async create(model: SegmentationModel, size: number, threads: number): Promise<OrtSegmentation> {
    const graph = exportSegmentationOnnx(model, { size: [size, size] });
    return new OrtSegmentation(graph, await createOrtSession(graph, { threads }), [{ name: SEGMENTATION_OUTPUT, perImage: true }], threads, size);
  }

  /** The SegmentationModel shape: [B, S, S, 3] in, logits [B, ⌈S/16⌉, ⌈S/16⌉, classes] out (the graph's NCHW transposed). */
  async forward(x: tf.Tensor4D): Promise<tf.Tensor4D> {
    const [logits] = await this.run(x);
    return tf.tidy(() => tf.transpose(tf.tensor4d(logits.data, logits.dims as [number, number, number, number]), [0, 2, 3, 1]));
  }
}

/** The detector graph's outputs: the anchors are the graph's constant, the same for every batch. */
const DETECTOR_OUTPUTS: readonly OutputSpec[] = [
  { name: DETECTION_OUTPUTS.boxDeltas, perImage: true }, { name: DETECTION_OUTPUTS.classLogits, perImage: true },
  { name: DETECTION_OUTPUTS.anchors, perImage: false },
];

export class OrtDetector extends OrtDense {
  private constructor(graph: Uint8Array, session: OrtSession, threads: number, size: number, readonly numClasses: number) {
    super(graph, session, DETECTOR_OUTPUTS, threads, size);
  }

  static async create(model: DetectionModel, size: number, threads: number): Promise<OrtDetector> {
    const graph = exportDetectionOnnx(model, { size: [size, size] });
    return new OrtDetector(graph, await createOrtSession(graph, { threads }), threads, size, model.numClasses);
  }

  /** The DetectionModel shape: [B, S, S, 3] in, box deltas [B, A, 4], class logits [B, A, classes] and the anchors out. */
  async forward(x: tf.Tensor4D): Promise<DetectorOutput> {
    const [deltas, logits, anchors] = await this.run(x);
    return {
      boxDeltas: tf.tensor3d(deltas.data, deltas.dims as [number, number, number]),
      classLogits: tf.tensor3d(logits.data, logits.dims as [number, number, number]),
      anchors: anchors.data,
    };
  }
}
