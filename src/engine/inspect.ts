// Inspection handlers: predict (a segmentation or detection run's too), attention, receptive field and profile. The work is src/inspect/'s;
// this picks the model and the image and returns the contract's shapes (src/inspect/results.ts). On a page
// device (engine/devices.ts) the device computes (device/inspect.ts), and the model's weights go there only when
// it does not hold them already (device/resident.ts); in this process the kept model itself is used, with no
// copy to build per question.
import * as tf from '@tensorflow/tfjs';
import type { EngineModel, EngineParams, EngineResult } from '../protocol/engine.ts';
import type { LoadedDense, LoadedModel } from '../run/model.ts';
import { openRgb, toRgb } from '../data/decode.ts';
import { decodeIndexMask, encodeIndexMask, vocPalette, type IndexMask } from '../data/mask-png.ts';
import { MAX_MASK_BYTES } from '../data/segmentation-scan.ts';
import { PixelConfusion } from '../train/segmentation-metrics.ts';
import { IGNORE_INDEX } from '../util/mask-values.ts';
import { readRegularFile } from '../util/read-file.ts';
import type { ImageInput } from '../protocol/contract.ts';
import { SegmentationModel } from '../model/segmentation.ts';
import { classShares, DEFAULT_SCORE_THRESHOLD, detectImage, namedDetections, segmentImage } from '../inspect/dense-predict.ts';
import { pngDataUrl } from '../inspect/overlay.ts';
import { openDenseInference } from '../train/dense-inference.ts';
import { classColour } from '../inspect/dense-draw.ts';
import { Model } from '../model/index.ts';
import { createNetwork, type AnyNetwork } from '../model/networks.ts';
import type { RgbImage } from '../inspect/overlay.ts';
import { captureAttention } from '../inspect/capture.ts';
import { answerQuery, findBlock } from '../inspect/attention.ts';
import { imageTensor, loadImage, randomImage } from '../inspect/image.ts';
import { receptiveFields as fieldsOf, spatialBlocks } from '../inspect/receptive-field.ts';
import { attentionResult, receptiveFieldResult, topK } from '../inspect/results.ts';
import { profileModel } from '../inspect/profile.ts';
import { profileOnnxAsResult } from '../export/ort-profile.ts';
import type { HandlerContext } from './dispatch.ts';
import { denseModelFor, modelFor, serial, taskOfModel, withImageFile } from './models.ts';
import { truthBoxes } from './detection-truth.ts';
import { LocalDevice } from '../device/device.ts';
import { deviceLogits } from '../device/inference.ts';
import { inspectOn } from '../device/inspect.ts';
import { budgetedDevice } from './budget.ts';
import type { EngineDevices } from './devices.ts';
import { inferencePreprocessing } from '../protocol/recipe.ts';

export function predict(p: EngineParams<'predict'>, ctx: HandlerContext, devices: EngineDevices): Promise<EngineResult<'predict'>> {
  return serial(async () => {
    if (taskOfModel(p.model) !== 'classification') return predictDense(p, p.model);
    const m = modelFor(p.model);
    const pre = inferencePreprocessing(m, { imageSize: p.imageSize });
    const device = await budgetedDevice(devices, { what: 'inspect.predict', variant: m.model.variant, size: pre.imageSize, images: 1, kind: 'infer' });
    const img = await withImageFile(p.image, (file) => loadImage(file, pre));
    const x = imageTensor(img);
    const start = performance.now();
    // On a page device this includes sending the image (and the weights, the first time): what a prediction costs there.
    const logits = await deviceLogits(device, m.model, x).finally(() => x.dispose());
    const probs = tf.tidy(() => tf.softmax(logits));
    logits.dispose();
    const data = (await probs.data()) as Float32Array;
    const ms = performance.now() - start;
    const numClasses = probs.shape[1]!;
    probs.dispose();
    return { task: 'classification', top5: topK(data, numClasses, m.labels), imageSize: pre.imageSize, recordedImageSize: m.imageSize, ms };
  }, ctx.signal);
}

/**
 * A segmentation or detection network's prediction (a run's, or a network name's with its weights), in this process
 * (where these networks train): the image resized whole to the run's size (or the one asked for); the class map at the image's own size as a palette PNG, or the
 * boxes above the score threshold in the image's pixels (and, for an image of the run's dataset, its own boxes).
 */
async function predictDense(p: EngineParams<'predict'>, ref: EngineModel): Promise<EngineResult<'predict'>> {
  const m = denseModelFor(ref);
  const labels = m.labels ?? Array.from({ length: m.model.numClasses }, (_, i) => `class ${i}`);
  const imageSize = p.imageSize ?? m.imageSize!;
  const image = await withImageFile(p.image, (file) => toRgb(openRgb(file), file));
  const run = { imageSize, recordedImageSize: m.imageSize, width: image.width, height: image.height };
  if (m.model instanceof SegmentationModel) {
    const mask = p.mask ? await readMask(p.mask, image, m.model.numClasses) : null;
    const start = performance.now();
    const net = await openDenseInference(m.model, imageSize, rule(imageSize));
    const map = await segmentImage(net, image, imageSize).finally(() => net.dispose());
    const ms = performance.now() - start;
    const classes = classShares(map, labels).map((c) => ({ ...c, colour: colourOf(c.index) }));
    // The window lays the maps over the image: the background (and a mask's ignore pixels) let it show, as predict's overlay does.
    const groundTruth = mask ? { classMap: pngDataUrl(encodeIndexMask(mask, VOC, [0, IGNORE_INDEX])), ...scored(map, mask, m.model.numClasses) } : undefined;
    return { task: 'segmentation', ...run, ms, classMap: pngDataUrl(encodeIndexMask(map, VOC, [0])), classes, groundTruth };
  }
  const start = performance.now();
  const scoreThreshold = p.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD;
  const net = await openDenseInference(m.model, imageSize, rule(imageSize));
  const found = await detectImage(net, image, imageSize, scoreThreshold).finally(() => net.dispose());
  const detections = namedDetections(found, labels).map((d) => ({ ...d, colour: colourOf(d.index) }));
  const ms = performance.now() - start;
  const truth = ref.kind === 'run' ? await truthBoxes(ref.runDir, p.image, labels) : null; // a run's dataset knows an image's boxes
  const groundTruth = truth?.map((b) => ({ ...b, colour: colourOf(b.index) }));
  return { task: 'detection', ...run, ms, scoreThreshold, detections, groundTruth };
}

/** The inference runtime rule on one image's work (train/dense-inference.ts): TF.js here unless asked otherwise (MOBILEVIT_INFERENCE_RUNTIME). */
const rule = (size: number) => ({ device: new LocalDevice(tf.getBackend()), pixels: size * size });

/** The palette the class maps are written in and boxes drawn in (the CLI's too): a class's colour is VOC's. */
const VOC = vocPalette();
const colourOf = (index: number) => classColour(index, VOC);

/** The request's mask of `image`, read as the dataset scan reads masks; one error naming it when it does not fit the image or the run. */
async function readMask(input: ImageInput, image: { width: number; height: number }, classes: number): Promise<IndexMask> {
  const name = 'path' in input ? input.path : 'the dropped mask';
  const mask = await withImageFile(input, async (file) => decodeIndexMask(readRegularFile(file, { maxBytes: MAX_MASK_BYTES, what: 'mask' }), name));
  if (mask.width !== image.width || mask.height !== image.height) throw new RangeError(`${name}: the mask is ${mask.width}×${mask.height} but its image is ${image.width}×${image.height}`);
  const beyond = mask.data.find((v) => v >= classes && v !== IGNORE_INDEX);
  if (beyond !== undefined) throw new RangeError(`${name}: the mask holds class ${beyond}, but the run has ${classes} classes (0 to ${classes - 1}; ${IGNORE_INDEX} = ignore)`);
  return mask;
}

/** The prediction scored against the mask as evaluation scores a set (segmentation-metrics.ts), ignore pixels excluded. */
function scored(map: IndexMask, mask: IndexMask, classes: number): { miou: number; pixelAccuracy: number; perClassIou: (number | null)[] } {
  const confusion = new PixelConfusion(classes);
  confusion.add(map.data, mask.data);
  const { miou, pixelAccuracy, perClassIou } = confusion.scores();
  return { miou, pixelAccuracy, perClassIou };
}

export function attention(p: EngineParams<'attention'>, ctx: HandlerContext, devices: EngineDevices): Promise<EngineResult<'attention'>> {
  return serial(async () => {
    const { m, device, pre } = await inspected(p.model, devices, 'inspect.attention', { imageSize: p.imageSize }, 'infer');
    const size = pre.imageSize;
    const img = await withImageFile(p.image, (file) => loadImage(file, pre));
    // Every block is captured: the selectors need each block's layers, heads and grid.
    const capture = device instanceof LocalDevice ? await captureHere(m.model, img)
      : await inspectOn(device, m.model, (inspector) => inspector.attention(img, null));
    const answer = answerQuery(findBlock(capture.blocks, p.block), { layer: p.layer, head: p.head, patch: p.patch, pixel: p.pixel }, [size, size]);
    return attentionResult(answer, capture, img, m.labels, m.imageSize, DEFAULT_SCORE_THRESHOLD);
  }, ctx.signal);
}

/**
 * The network an inspection asks about (a segmentation or detection network's too, its input made as
 * run/model.ts DENSE_INPUT says), its preprocessing, and the device, once the pass is known to fit (a dense network planned on its backbone).
 */
async function inspected(ref: EngineModel, devices: EngineDevices, what: string, explicit: { imageSize?: number }, kind: 'infer' | 'train') {
  const dense = taskOfModel(ref) !== 'classification';
  const m: LoadedModel | LoadedDense = dense ? denseModelFor(ref) : modelFor(ref);
  const pre = inferencePreprocessing(m, explicit);
  const device = await budgetedDevice(devices, { what, variant: m.model.variant, size: pre.imageSize, images: 1, kind });
  return { m, device, pre };
}

async function captureHere(model: AnyNetwork, img: RgbImage) {
  const x = imageTensor(img);
  try {
    return await captureAttention(model, x);
  } finally {
    x.dispose();
  }
}

export function receptiveField(p: EngineParams<'receptiveField'>, ctx: HandlerContext, devices: EngineDevices): Promise<EngineResult<'receptiveField'>> {
  return serial(async () => {
    // A field is a gradient with respect to the image: a backward pass, planned as a training pass of one image.
    const { m, device, pre } = await inspected(p.model, devices, 'inspect.receptiveField', { imageSize: p.imageSize }, 'train');
    const all = spatialBlocks(m.model);
    const blocks = p.block === undefined ? all : all.filter((b) => b.index === p.block);
    if (blocks.length === 0) throw new RangeError(`block ${p.block} has no spatial output: blocks are ${all.map((b) => `${b.index} (${b.name})`).join(', ')}`);
    const img = p.image ? await withImageFile(p.image, (file) => loadImage(file, pre)) : randomImage(p.imageSize, p.seed);
    const progress = (done: number, total: number) => ctx.progress(done, total, blocks[done - 1]?.name);
    if (!(device instanceof LocalDevice)) {
      const positions = blocks.map((b) => all.indexOf(b));
      return receptiveFieldResult(await inspectOn(device, m.model, (inspector) => inspector.receptiveFields(img, positions, p.location ?? null, progress)));
    }
    const x = imageTensor(img);
    try {
      return await receptiveFieldResult(fieldsOf(m.model, x, blocks, p.location, progress));
    } finally {
      x.dispose();
    }
  }, ctx.signal);
}

export function profile(p: EngineParams<'profile'>, ctx: HandlerContext, devices: EngineDevices): Promise<EngineResult<'profile'>> {
  return serial(async () => {
    // onnxruntime computes natively; the multiply-adds it reports come from one image's pass here (summarize).
    const images = p.runtime === 'onnxruntime' ? 1 : p.batch;
    // Latency does not depend on the weights: a seeded random init with the family's default outputs.
    const model = createNetwork(p.variant);
    const device = await budgetedDevice(devices, { what: 'inspect.profile', variant: model.variant, size: p.imageSize, images, kind: 'infer' })
      .catch((e) => { model.dispose(); throw e; });
    try {
      ctx.progress(0, 1, `profiling ${p.variant} at ${p.imageSize} px`);
      const options = { imageSize: p.imageSize, batch: p.batch, runs: p.runs };
      // onnxruntime's per-node times are mapped onto a classifier's graph (export/ort-profile.ts).
      if (p.runtime === 'onnxruntime' && !(model instanceof Model)) throw new RangeError(`onnxruntime profiles classifiers only, not ${p.variant}`);
      const r = p.runtime === 'onnxruntime' ? await profileOnnxAsResult(model as Model, options)
        : p.device === 'in-process' || device instanceof LocalDevice ? profileModel(model, options)
          : await inspectOn(device, model, (inspector) => inspector.profile(options)); // timed where the device computes
      ctx.progress(1, 1);
      return { ...r, variant: p.variant };
    } finally {
      model.dispose();
    }
  }, ctx.signal);
}
