// Inspection results in the shapes of the studio contract (src/protocol/contract.ts), with their
// images encoded as PNG data URLs: what the engine returns to the UI.
import type { AttentionResult, Prediction, ReceptiveFieldResult } from '../protocol/contract.ts';
import { attentionOverlayScale, type AttentionAnswer } from './attention.ts';
import type { AttentionCapture } from './capture.ts';
import { densePicture, densePrediction } from './dense-attention.ts';
import { classColour } from './dense-draw.ts';
import { heatmapPng, imagePng, overlayPng, pngDataUrl, type HeatmapScale, type RgbImage } from './overlay.ts';
import type { ReceptiveField } from './receptive-field.ts';

/** Receptive fields span orders of magnitude: show them on a log scale down to the support level. */
export const FIELD_SCALE: HeatmapScale = { kind: 'log', floor: 1e-4 };

/** The k most probable classes of one sample; labels default to the class index. */
export function topK(probs: Float32Array, numClasses: number, labels: string[] | null, k = 5, sample = 0): Prediction[] {
  const row = probs.subarray(sample * numClasses, (sample + 1) * numClasses);
  return [...row.keys()]
    .sort((a, b) => row[b] - row[a])
    .slice(0, k)
    .map((index) => ({ index, label: labels?.[index] ?? String(index), prob: Math.min(1, Math.max(0, row[index])) }));
}

/**
 * `image` is the input the model saw (height × width × 3 in [0, 1]); a dense network's prediction of the same pass
 * is drawn over it, its boxes above `scoreThreshold`.
 */
export async function attentionResult(answer: AttentionAnswer, capture: AttentionCapture, image: RgbImage, labels: string[] | null, recordedImageSize: number | null,
  scoreThreshold: number): Promise<AttentionResult> {
  return {
    block: answer.block,
    layer: answer.layer,
    head: answer.head,
    patch: answer.patch,
    pixel: answer.pixel,
    grid: answer.grid,
    map: answer.map,
    overlay: pngDataUrl(await overlayPng(image, answer.pixelMap, attentionOverlayScale(answer))),
    image: pngDataUrl(await imagePng(image)),
    imageSize: image.height,
    recordedImageSize,
    blocks: capture.summaries.map(({ index, name, layers, heads, grid, patch }) => ({ index, name, layers, heads, grid, patch })),
    top5: topK(capture.probs, capture.numClasses, labels),
    ...(capture.dense ? { dense: await denseResult(capture.dense, image, labels, scoreThreshold) } : {}),
  };
}

/** A dense network's prediction in the contract's shape: the picture, and the classes present or the boxes, with their colours. */
async function denseResult(out: NonNullable<AttentionCapture['dense']>, image: RgbImage, labels: string[] | null, scoreThreshold: number): Promise<NonNullable<AttentionResult['dense']>> {
  const p = densePrediction(out, image, labels, scoreThreshold);
  const picture = pngDataUrl(await densePicture(p, image));
  return p.task === 'segmentation'
    ? { task: 'segmentation', picture, classes: p.classes.filter((c) => c.share > 0).map((c) => ({ ...c, colour: classColour(c.index) })) }
    : { task: 'detection', picture, scoreThreshold, detections: p.detections.map((d) => ({ ...d, colour: classColour(d.index) })) };
}

export async function receptiveFieldResult(fields: ReceptiveField[]): Promise<ReceptiveFieldResult> {
  if (fields.length === 0) throw new RangeError('no receptive fields to report');
  const [height, width] = fields[0].imageSize;
  return {
    imageSize: height,
    blocks: await Promise.all(fields.map(async (f) => ({
      index: f.index, name: f.name, kind: f.kind, coverage: f.coverage, support: f.support,
      location: f.location, featureSize: f.featureSize,
      map: pngDataUrl(await heatmapPng(f.field, height, width, FIELD_SCALE)),
    }))),
  };
}
