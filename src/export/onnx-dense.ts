// ONNX export of the dense networks: DeepLabv3-MobileViT (segmentation) and SSDLite-MobileViT (detection).
// Input `pixels` float32 NCHW [batch, 3, H, W] in [0, 1], RGB, no mean/std, as the classifiers' export takes it, at a
// fixed H × W (the image resized to it). Segmentation: `logits` NCHW [batch, classes, ⌈H/16⌉, ⌈W/16⌉], not upsampled
// (upsample bilinearly, half-pixel, then argmax). Detection: `box_deltas` [batch, A, 4], `class_logits`
// [batch, A, classes] (background first) and the constant `anchors` [A, 4] (cx, cy, w, h, normalised); or, with
// `postprocess`, the detections of every image (`det_boxes`, `det_scores`, `det_labels`, `det_image`).
import { SSD_POSTPROCESS, type PostprocessOptions } from '../model/detection-postprocess.ts';
import { BOX_VARIANCE } from '../model/anchors.ts';
import type { DenseNetwork } from '../model/dense-from-file.ts';
import type { DetectionModel } from '../model/detection.ts';
import { denseEntry, familyOf } from '../model/registry/index.ts';
import type { DenseOnnxBuilder } from '../model/registry/types.ts';
import { SEGMENTATION_OUTPUT_STRIDE, type SegmentationModel } from '../model/segmentation.ts';
import { MIN_INPUT_SIZE } from '../model/types.ts';
import { stateDict } from '../model/weights.ts';
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from './formats.ts';
import { encodeGraph, OnnxGraph, type GraphOutput } from './onnx-graph.ts';
import { emitDeepLabV3 } from './onnx-deeplabv3.ts';
import { emitSsdLite, emitSsdPostprocess } from './onnx-ssdlite.ts';
import { ONNX_INPUT } from './onnx.ts';

export const SEGMENTATION_OUTPUT = 'logits';
export const DETECTION_OUTPUTS = { boxDeltas: 'box_deltas', classLogits: 'class_logits', anchors: 'anchors' } as const;
export const DETECTION_POSTPROCESSED = { boxes: 'det_boxes', scores: 'det_scores', labels: 'det_labels', image: 'det_image' } as const;

export interface DenseOnnxOptions {
  /** The graph's input [height, width]. */
  size: [number, number];
  opset?: number;
  /** Label names (the background first), written to the metadata (default: "class i"). */
  labels?: string[] | null;
  /** Detection: softmax, decode and NonMaxSuppression in the graph instead of the raw outputs. */
  postprocess?: Partial<PostprocessOptions>;
  /** Extra metadata (source, run id…). */
  metadata?: Record<string, string>;
}

function checkOptions(o: DenseOnnxOptions, numClasses: number): { opset: number; labels: string[] } {
  const opset = o.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) throw new RangeError(`--opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  for (const [i, side] of o.size.entries()) {
    if (!Number.isInteger(side) || side < MIN_INPUT_SIZE || side > 4096) {
      throw new RangeError(`the image ${i === 0 ? 'height' : 'width'} must be an integer from ${MIN_INPUT_SIZE} to 4096, got ${side}`);
    }
  }
  const labels = o.labels ?? Array.from({ length: numClasses }, (_, i) => `class ${i}`);
  if (labels.length !== numClasses) throw new RangeError(`${labels.length} labels for a ${numClasses}-class model (the background counts)`);
  return { opset, labels };
}

/** What a deployment must do to an image before the graph: resize to H × W, RGB in [0, 1], NCHW, nothing else. */
function denseMetadata(variant: string, task: string, labels: string[], [h, w]: [number, number]): Record<string, string> {
  return {
    variant,
    task,
    num_classes: String(labels.length),
    labels: JSON.stringify(labels),
    input_size: JSON.stringify([3, h, w]),
    preprocessing: JSON.stringify({ resize: { size: [h, w] }, channel_order: 'RGB', layout: 'NCHW', scale: '1/255 (pixels in [0, 1])', mean: null, std: null }),
  };
}

export function exportSegmentationOnnx(model: SegmentationModel, o: DenseOnnxOptions): Uint8Array {
  const { opset, labels } = checkOptions(o, model.numClasses);
  const g = new OnnxGraph(opset);
  const ctx = { g, weights: stateDict(model) };
  const logits = emitDeepLabV3(ctx, ONNX_INPUT, o.size, denseEntry(model.variant, 'segmentation').spec.backbone);
  const [h, w] = o.size.map((s) => Math.ceil(s / SEGMENTATION_OUTPUT_STRIDE));
  return encodeGraph(g, { name: ONNX_INPUT, dims: ['batch', 3, ...o.size] }, [{ name: SEGMENTATION_OUTPUT, dims: ['batch', model.numClasses, h, w], value: logits }], {
    ...denseMetadata(model.variant, 'segmentation', labels, o.size),
    output_stride: String(SEGMENTATION_OUTPUT_STRIDE),
    logits: 'NCHW at 1/16 of the input, not upsampled: upsample bilinearly (half-pixel centres) to the image, then argmax over the classes',
    ...o.metadata,
  }, model.variant);
}

export function exportDetectionOnnx(model: DetectionModel, o: DenseOnnxOptions): Uint8Array {
  const { opset, labels } = checkOptions(o, model.numClasses);
  const g = new OnnxGraph(opset);
  const ctx = { g, weights: stateDict(model) };
  const raw = emitSsdLite(ctx, ONNX_INPUT, o.size, denseEntry(model.variant, 'detection').spec.backbone, model.numClasses);
  const count = raw.anchors.length / 4;
  const meta = {
    ...denseMetadata(model.variant, 'detection', labels, o.size),
    anchors: `${count} anchors (cx, cy, w, h), normalised, in the order of the outputs`,
    box_coding: JSON.stringify({ centre_variance: BOX_VARIANCE.centre, size_variance: BOX_VARIANCE.size }),
  };
  const input = { name: ONNX_INPUT, dims: ['batch', 3, ...o.size] };
  if (o.postprocess === undefined) {
    const anchors = g.op('Identity', [g.weight('anchors_constant', [count, 4], raw.anchors)], 'anchors/Identity');
    return encodeGraph(g, input, [
      { name: DETECTION_OUTPUTS.boxDeltas, dims: ['batch', count, 4], value: raw.boxDeltas },
      { name: DETECTION_OUTPUTS.classLogits, dims: ['batch', count, model.numClasses], value: raw.classLogits },
      { name: DETECTION_OUTPUTS.anchors, dims: [count, 4], value: anchors },
    ], { ...meta, ...o.metadata }, model.variant);
  }
  const post = { ...SSD_POSTPROCESS, ...o.postprocess };
  const det = emitSsdPostprocess(ctx, raw, model.numClasses, post);
  return encodeGraph(g, input, [
    { name: DETECTION_POSTPROCESSED.boxes, dims: ['detections', 4], value: det.boxes },
    { name: DETECTION_POSTPROCESSED.scores, dims: ['detections'], value: det.scores },
    { name: DETECTION_POSTPROCESSED.labels, dims: ['detections'], value: det.labels, int64: true },
    { name: DETECTION_POSTPROCESSED.image, dims: ['detections'], value: det.image, int64: true },
  ], {
    ...meta,
    postprocess: JSON.stringify({ score_threshold: post.scoreThreshold, nms_iou: post.nmsIou, per_class: post.perClass, per_image: null }),
    ...o.metadata,
  }, model.variant);
}

/** The dense networks' builders, by the one each dense family names in the registry (DenseFamily.onnx): a new one is a line here. */
const DENSE_BUILDERS: Record<DenseOnnxBuilder, (network: DenseNetwork, o: DenseOnnxOptions) => Uint8Array> = {
  deeplabv3: (network, o) => exportSegmentationOnnx(network as SegmentationModel, o),
  ssdlite: (network, o) => exportDetectionOnnx(network as DetectionModel, o),
};

/** The ONNX graph of a segmentation or detection network, by the builder its family names. */
export function exportDenseOnnx(network: DenseNetwork, o: DenseOnnxOptions): Uint8Array {
  const family = familyOf(network.variant);
  if (family === undefined || family.task === 'classification') throw new RangeError(`${network.variant} is not a segmentation or detection network`);
  if (o.postprocess !== undefined && family.task !== 'detection') throw new RangeError(`post-processing in the graph is a detector's; ${network.variant} is not a detection network`);
  return DENSE_BUILDERS[family.onnx](network, o);
}
