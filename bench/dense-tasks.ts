// What the segmentation and detection benchmarks (bench/dense.ts) measure of each task: its networks, the sizes the
// issues ask for, the network as TF.js runs it, as the studio's ONNX export has it and as the studio runs that on
// onnxruntime, and a training batch's labels, each taken from where a run takes it (src/train/tasks/*,
// src/export/onnx-dense.ts, src/export/ort-dense.ts).
import * as tf from '@tensorflow/tfjs';
import { DetectionModel } from '../src/model/detection.ts';
import type { Network } from '../src/model/network.ts';
import { NETWORK_NAMES, taskOf, type VariantName } from '../src/model/registry/index.ts';
import { SegmentationModel } from '../src/model/segmentation.ts';
import { matchAnchors, packTargets } from '../src/optim/detection-loss.ts';
import { DETECTION_OUTPUTS, exportDetectionOnnx, exportSegmentationOnnx, SEGMENTATION_OUTPUT } from '../src/export/onnx-dense.ts';
import { OrtDetector, OrtSegmentation } from '../src/export/ort-dense.ts';
import { detectionNetwork } from '../src/train/tasks/detection.ts';
import { segmentationNetwork } from '../src/train/tasks/segmentation.ts';
import { Rng } from '../src/util/random.ts';

export type DenseTask = 'segmentation' | 'detection';

/** One output of a forward pass, flat, in the layout of the ONNX export's output of the same name. */
export type Outputs = Record<string, Float32Array>;

/** The studio's onnxruntime copy of a network (export/ort-dense.ts), where predict and evaluation run it. */
export type OrtNetwork = OrtSegmentation | OrtDetector;

export interface TaskBench {
  task: DenseTask;
  /** Inference side (issues 19 and 20): 512 px for DeepLabv3 (VOC's evaluation size), 320 px for SSDLite. */
  inferenceSize: number;
  /** Training side: 256 px for DeepLabv3 (issue 19's and 23's), 320 px for SSDLite (SSDLite's own). */
  trainSize: number;
  /** The network a run with `--variant <classifier>` trains (the task's own naming rule). */
  networkFor(variant: VariantName): string;
  /**
   * An inference pass read back to the host, in the ONNX outputs' layout (NCHW logits; [B, A, ·] for boxes): of
   * the network on TF.js, or of its onnxruntime copy, each as predict and evaluation take its outputs.
   */
  forward(net: Network | OrtNetwork, x: tf.Tensor4D): Promise<Outputs>;
  /** The studio's ONNX export of `model` at `size` px (what `export --format onnx` writes for it). */
  onnx(model: Network, size: number): Uint8Array;
  /** The network on onnxruntime as the studio runs it there (`threads` single-thread worker sessions). */
  ort(model: Network, size: number, threads: number): Promise<OrtNetwork>;
  /** The ONNX outputs compared with `forward`'s. */
  onnxOutputs: string[];
  /** Labels of `batch` images at `size` px as a run's batch carries them. */
  labels(model: Network, batch: number, size: number, rng: Rng): Int32Array;
}

/** The task's networks, from the registry. */
export const networksOf = (task: DenseTask) => NETWORK_NAMES.filter((n) => taskOf(n) === task) as string[];

async function read(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

const segmentation: TaskBench = {
  task: 'segmentation',
  inferenceSize: 512,
  trainSize: 256,
  networkFor: segmentationNetwork,
  async forward(net, x) {
    const nhwc = await (net as SegmentationModel | OrtSegmentation).forward(x);
    const logits = tf.transpose(nhwc, [0, 3, 1, 2]);
    nhwc.dispose();
    return { [SEGMENTATION_OUTPUT]: await read(logits) };
  },
  onnx: (model, size) => exportSegmentationOnnx(model as SegmentationModel, { size: [size, size] }),
  ort: (model, size, threads) => OrtSegmentation.create(model as SegmentationModel, size, threads),
  onnxOutputs: [SEGMENTATION_OUTPUT],
  // A class for every pixel (the loss's cost does not depend on which).
  labels: (model, batch, size, rng) => Int32Array.from({ length: batch * size * size }, () => rng.int(0, (model as SegmentationModel).numClasses - 1)),
};

const detection: TaskBench = {
  task: 'detection',
  inferenceSize: 320,
  trainSize: 320,
  networkFor: detectionNetwork,
  async forward(net, x) {
    const out = await (net as DetectionModel | OrtDetector).forward(x);
    return { [DETECTION_OUTPUTS.boxDeltas]: await read(out.boxDeltas), [DETECTION_OUTPUTS.classLogits]: await read(out.classLogits) };
  },
  onnx: (model, size) => exportDetectionOnnx(model as DetectionModel, { size: [size, size] }),
  ort: (model, size, threads) => OrtDetector.create(model as DetectionModel, size, threads),
  onnxOutputs: [DETECTION_OUTPUTS.boxDeltas, DETECTION_OUTPUTS.classLogits],
  // One to three boxes of random classes per image, matched to the anchors of this size and packed as a run's
  // batch carries them (tasks/detection.ts's encoder: matchAnchors, then packTargets).
  labels(model, batch, size, rng) {
    const detector = model as DetectionModel;
    const zeros = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
    const { boxDeltas, classLogits, anchors } = detector.forward(zeros);
    tf.dispose([zeros, boxDeltas, classLogits]);
    const rows = Array.from({ length: batch }, () => {
      const n = rng.int(1, 3);
      const boxes = Array.from({ length: n }, () => {
        const [x0, y0] = [rng.uniform(0, 0.6), rng.uniform(0, 0.6)];
        return [x0, y0, x0 + rng.uniform(0.1, 0.4), y0 + rng.uniform(0.1, 0.4)];
      }).flat();
      return packTargets(matchAnchors(boxes, Int32Array.from({ length: n }, () => rng.int(1, detector.numClasses - 1)), anchors));
    });
    const out = new Int32Array(rows.reduce((s, r) => s + r.length, 0));
    rows.forEach((r, i) => out.set(r, i * r.length));
    return out;
  },
};

export const TASK_BENCHES: Record<DenseTask, TaskBench> = { segmentation, detection };
