// Predictions of the segmentation and detection networks on one image, made as their references make them: the
// image resized to the network's input size (bilinear, no crop: how segmentation and SSD evaluation resize), then
// - segmentation: the logits at 1/16 upsampled bilinearly (align_corners false) to the image's own size and the
//   argmax taken per pixel (transformers' post_process_semantic_segmentation with the image's size);
// - detection: softmax, decode and per-class NMS above a score threshold (detection-postprocess.ts), the boxes
//   scaled to the image's pixels and clipped to it.
// The upsampling and argmax are done here, one output pixel at a time, rather than by TF.js: a 12-megapixel photo
// of 21 classes would need a 1 GB tensor of upsampled logits for a map of 12 MB.
// The network runs in this process or as a copy on another runtime (onnxruntime: train/dense-inference.ts); what
// follows its outputs is this file's either way.
import * as tf from '@tensorflow/tfjs';
import type { RgbImage } from '../data/decode.ts';
import type { IndexMask } from '../data/mask-png.ts';
import { writeUnitFloats } from '../data/pixels.ts';
import { resizeBilinear } from '../data/segmentation-augment.ts';
import { postprocess, SSD_POSTPROCESS } from '../model/detection-postprocess.ts';
import type { DetectorOutput } from '../model/detection.ts';

/** A detector's boxes worth showing unasked (ml-cvnets evaluates at 0.01, which lists hundreds). */
export const DEFAULT_SCORE_THRESHOLD = 0.3;

/** The most classes a class map holds: one byte a pixel, as a palette PNG stores it. */
export const MAX_MAP_CLASSES = 256;

/** One detected object: its box (x0, y0, x1, y1) in the image's pixels, its class (never 0, the background) and score. */
export interface Detection {
  box: [number, number, number, number];
  label: number;
  score: number;
}

/** What runs a batch through the network: the network itself, or its copy on another runtime, which may answer asynchronously. */
export interface DenseForward<O> {
  forward(x: tf.Tensor4D): O | Promise<O>;
}

/** The image resized to `size` × `size`, as a [1, size, size, 3] tensor of RGB in [0, 1]. */
async function inputTensor(image: RgbImage, size: number): Promise<tf.Tensor4D> {
  const resized = await resizeBilinear(image, size, size);
  const x = new Float32Array(size * size * 3);
  writeUnitFloats(resized.data, x, 0, null);
  return tf.tensor4d(x, [1, size, size, 3]);
}

/**
 * Argmax over classes of `logits` [h, w, classes] upsampled bilinearly to `height` × `width` with half-pixel
 * centres (PyTorch's align_corners=False: source = (destination + 0.5) · in / out − 0.5, clamped at 0).
 */
export function upsampleArgmax(logits: Float32Array, h: number, w: number, classes: number, height: number, width: number): Uint8Array {
  if (classes > MAX_MAP_CLASSES) throw new RangeError(`a class map holds up to ${MAX_MAP_CLASSES} classes, not ${classes}`);
  if (logits.length !== h * w * classes) throw new RangeError(`${logits.length} logits for a ${h}×${w} map of ${classes} classes`);
  const axis = (out: number, inSize: number) => {
    const lo = new Int32Array(out), hi = new Int32Array(out), t = new Float32Array(out);
    for (let i = 0; i < out; i++) {
      const src = Math.max(0, ((i + 0.5) * inSize) / out - 0.5);
      lo[i] = Math.min(Math.floor(src), inSize - 1);
      hi[i] = Math.min(lo[i] + 1, inSize - 1);
      t[i] = src - lo[i];
    }
    return { lo, hi, t };
  };
  const ys = axis(height, h), xs = axis(width, w);
  const map = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    const [r0, r1, ty] = [ys.lo[y] * w, ys.hi[y] * w, ys.t[y]];
    for (let x = 0; x < width; x++) {
      const [c0, c1, tx] = [xs.lo[x], xs.hi[x], xs.t[x]];
      const [a, b, c, d] = [(r0 + c0) * classes, (r0 + c1) * classes, (r1 + c0) * classes, (r1 + c1) * classes];
      let best = 0, bestValue = -Infinity;
      for (let k = 0; k < classes; k++) {
        const top = logits[a + k] + (logits[b + k] - logits[a + k]) * tx;
        const bottom = logits[c + k] + (logits[d + k] - logits[c + k]) * tx;
        const v = top + (bottom - top) * ty;
        if (v > bestValue) { bestValue = v; best = k; }
      }
      map[y * width + x] = best;
    }
  }
  return map;
}

/** What a dense network's pass gives, read back as plain data (a compute device sends it back as it is). */
export type DenseOutput =
  /** Logits at 1/16 of the input, [B, h, w, classes] row-major. */
  | { task: 'segmentation'; logits: Float32Array; shape: [number, number, number, number] }
  /** Per anchor: box deltas [B, A, 4] and class logits [B, A, classes] (background first); anchors [A·4] for this input. */
  | { task: 'detection'; boxDeltas: Float32Array; classLogits: Float32Array; anchors: Float32Array; numClasses: number };

/** Image `sample`'s class map at `height` × `width` from a segmentation pass's logits. */
export function classMapOf(out: Extract<DenseOutput, { task: 'segmentation' }>, height: number, width: number, sample = 0): IndexMask {
  const [, h, w, classes] = out.shape;
  const size = h * w * classes;
  return { width, height, data: upsampleArgmax(out.logits.subarray(sample * size, (sample + 1) * size), h, w, classes, height, width) };
}

/** The class of every pixel of `image`, the network run at `size` × `size`. */
export async function segmentImage(model: DenseForward<tf.Tensor4D>, image: RgbImage, size: number): Promise<IndexMask> {
  const x = await inputTensor(image, size);
  const logits = await model.forward(x);
  x.dispose();
  const shape = logits.shape;
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  return classMapOf({ task: 'segmentation', logits: data, shape }, image.height, image.width);
}

/** Each class's share of the map's pixels, in label order (one label a class). */
export function classShares(map: IndexMask, labels: readonly string[]): { index: number; label: string; share: number }[] {
  const counts = new Array<number>(labels.length).fill(0);
  for (const c of map.data) counts[c]++;
  return counts.map((n, index) => ({ index, label: labels[index], share: n / map.data.length }));
}

/** The detections with their class names, as `predict --json` and the window show them. */
export function namedDetections(found: readonly Detection[], labels: readonly string[]): { index: number; label: string; score: number; box: Detection['box'] }[] {
  return found.map((d) => ({ index: d.label, label: labels[d.label], score: d.score, box: d.box }));
}

/** Image `sample`'s objects scoring above `scoreThreshold` from a detection pass, boxes scaled to `width` × `height` pixels and clipped. */
export function detectionsOf(out: Extract<DenseOutput, { task: 'detection' }>, width: number, height: number, scoreThreshold: number, sample = 0): Detection[] {
  if (!(scoreThreshold >= 0 && scoreThreshold < 1)) throw new RangeError(`the score threshold must be in [0, 1), got ${scoreThreshold}`);
  const anchors = out.anchors.length / 4;
  const deltas = out.boxDeltas.subarray(sample * anchors * 4, (sample + 1) * anchors * 4);
  const logits = out.classLogits.subarray(sample * anchors * out.numClasses, (sample + 1) * anchors * out.numClasses);
  const found = postprocess(logits, deltas, out.anchors, out.numClasses, { ...SSD_POSTPROCESS, scoreThreshold });
  const clip = (v: number, max: number) => Math.min(max, Math.max(0, v * max));
  return Array.from(found.scores, (score, i) => ({
    box: [clip(found.boxes[4 * i], width), clip(found.boxes[4 * i + 1], height), clip(found.boxes[4 * i + 2], width), clip(found.boxes[4 * i + 3], height)],
    label: found.labels[i],
    score,
  }));
}

/** The objects `model` finds in `image` at `size` × `size` with a score above `scoreThreshold`, in post-processing's order. */
export async function detectImage(model: DenseForward<DetectorOutput> & { numClasses: number }, image: RgbImage, size: number, scoreThreshold: number): Promise<Detection[]> {
  if (!(scoreThreshold >= 0 && scoreThreshold < 1)) throw new RangeError(`the score threshold must be in [0, 1), got ${scoreThreshold}`);
  const x = await inputTensor(image, size);
  const out = await model.forward(x);
  x.dispose();
  const [deltas, logits] = await Promise.all([out.boxDeltas.data(), out.classLogits.data()]);
  tf.dispose([out.boxDeltas, out.classLogits]);
  const dense = { task: 'detection', boxDeltas: deltas as Float32Array, classLogits: logits as Float32Array, anchors: out.anchors, numClasses: model.numClasses } as const;
  return detectionsOf(dense, image.width, image.height, scoreThreshold);
}
