// `predict` for the dense networks, on TF.js in this process (as `forward` runs them) or on onnxruntime-node, as the
// runtime rule says (train/dense-inference.ts; the mask or boxes the same within float noise, and the result says which):
// - segmentation: the class of every pixel of the image (src/inspect/dense-predict.ts); --out writes it as a palette
//   PNG (VOC's palette, the palette index = the class) and the classes blended over the photo beside it
//   (mask.png → mask.overlay.png); --json prints each class's share of the pixels;
// - detection: the boxes above --score-threshold in the image's pixels, with label names and scores; --out draws them.
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from './args.ts';
import type { CliIO } from './command.ts';
import { table } from './common.ts';
import type { LoadedDense } from '../run/model.ts';
import type { ComputeDevice } from '../device/device.ts';
import type { InferenceRuntime } from '../protocol/devices.ts';

export interface DensePredictArgs {
  image: string;
  /** The PNG to write: the palette mask (its overlay beside it) or the image with its boxes. */
  out?: string;
  json: boolean;
  imageSize?: number;
  scoreThreshold: number;
  /** --labels read for `classes` outputs, when given. */
  labels: (classes: number) => string[] | null;
  /** --runtime: a runtime, or 'auto' / undefined for the rule. */
  runtime: InferenceRuntime | 'auto' | undefined;
  /** This process's device (TF.js computes here; the rule keeps its choices by its name). */
  device: ComputeDevice;
}

/** The overlay written beside a mask: `mask.png` → `mask.overlay.png`. */
export function overlayPath(maskPath: string): string {
  return maskPath.replace(/\.png$/i, '') + '.overlay.png';
}

/** --out names a PNG file to write (its folder made when missing), never a folder. */
function checkOut(out: string): void {
  if (!/\.png$/i.test(out)) throw new UsageError(`--out ${out}: give a .png file to write`);
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--out ${out} is a folder: give the .png file to write`);
  mkdirSync(dirname(out), { recursive: true });
}

const pct = (share: number) => `${(share * 100).toFixed(2)} %`;
const px = (v: number) => v.toFixed(1);

export async function densePredict(loaded: LoadedDense, a: DensePredictArgs, io: CliIO): Promise<number> {
  if (a.out !== undefined) checkOut(a.out);
  const [{ openRgb, toRgb, fromRgb }, { encodeIndexMask }, { classShares, detectImage, namedDetections, segmentImage }, { drawBoxes, overlayClasses }, { writeFileAtomic }, { SegmentationModel }, { openDenseInference }] = await Promise.all([
    import('../data/decode.ts'), import('../data/mask-png.ts'), import('../inspect/dense-predict.ts'), import('../inspect/dense-draw.ts'),
    import('../util/atomic.ts'), import('../model/segmentation.ts'), import('../train/dense-inference.ts'),
  ]);
  const { model } = loaded;
  const labels = a.labels(model.numClasses) ?? loaded.labels ?? Array.from({ length: model.numClasses }, (_, i) => `class ${i}`);
  const size = a.imageSize ?? loaded.imageSize!;
  const image = await toRgb(openRgb(a.image), a.image);
  // The runtime rule (train/feature-runtime.ts) on one image's work: TF.js unless asked or kept for this machine.
  const rule = { device: a.device, runtime: a.runtime, pixels: size * size };
  const on = async <T>(opened: { runtime: string; note: string; dispose(): Promise<void> }, pass: () => Promise<T>) => {
    io.err(`${a.image} (${image.width}×${image.height}) through ${model.variant} at ${size} px (${loaded.source}) on ${opened.note}`);
    const result = await pass().finally(() => opened.dispose());
    return { result, head: { image: a.image, variant: model.variant, source: loaded.source, imageSize: size, width: image.width, height: image.height, runtime: opened.runtime, runtimeNote: opened.note } };
  };
  const writePng = async (path: string, png: Promise<Buffer>) => {
    writeFileAtomic(path, await png);
    io.err(`wrote ${path}`);
  };
  if (model instanceof SegmentationModel) {
    const net = await openDenseInference(model, size, rule);
    const { result: map, head } = await on(net, () => segmentImage(net, image, size));
    const files = a.out === undefined ? {} : { mask: a.out, overlay: overlayPath(a.out) };
    if (files.mask) {
      await writePng(files.mask, Promise.resolve(encodeIndexMask(map)));
      await writePng(files.overlay, fromRgb(overlayClasses(image, map)).png().toBuffer());
    }
    const classes = classShares(map, labels);
    if (a.json) io.out(JSON.stringify({ ...head, task: 'segmentation', classes, ...files }));
    else io.out(table(['class', 'pixels'], classes.filter((c) => c.share > 0).sort((p, q) => q.share - p.share).map((c) => [c.label, pct(c.share)])));
    return 0;
  }
  const net = await openDenseInference(model, size, rule);
  const { result: found, head } = await on(net, () => detectImage(net, image, size, a.scoreThreshold));
  const detections = namedDetections(found, labels);
  if (a.out !== undefined) await writePng(a.out, fromRgb(drawBoxes(image, found)).png().toBuffer());
  if (a.json) io.out(JSON.stringify({ ...head, task: 'detection', scoreThreshold: a.scoreThreshold, detections, ...(a.out === undefined ? {} : { out: a.out }) }));
  else {
    io.err(`${detections.length} detection${detections.length === 1 ? '' : 's'} above ${a.scoreThreshold}`);
    io.out(table(['class', 'score', 'x0', 'y0', 'x1', 'y1'], detections.map((d) => [d.label, d.score.toFixed(3), ...d.box.map(px)])));
  }
  return 0;
}
