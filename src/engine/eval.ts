// eval.run in the engine: a run's checkpoint on its validation images, evaluated by the run's task. A classifier
// through src/train/eval-run.ts on the engine's device (or onnxruntime, as the inference runtime rule says), with
// thumbnails of the misclassified images for the window's gallery; a segmentation or detection run through its
// task's own evaluation (src/train/{segmentation,detection}-eval-run.ts) in this process, where these networks are
// evaluated in training too (dense-compute.ts: a device trains them, this process's copy evaluates), with
// thumbnails of the images a segmentation network does worst or a detector misses most in.
import * as tf from '@tensorflow/tfjs';
import { makeThumbnail } from '../data/thumbnail.ts';
import { LocalDevice } from '../device/device.ts';
import { denseEvalRuntime } from '../train/dense-inference.ts';
import type { EngineParams, EngineResult } from '../protocol/engine.ts';
import { readRun, type RunRecord } from '../run/index.ts';
import { evaluateModel } from '../train/eval-run.ts';
import { evaluateDetectionRun } from '../train/detection-eval-run.ts';
import { openInferenceModel } from '../train/inference-model.ts';
import { evaluateSegmentationRun } from '../train/segmentation-eval-run.ts';
import type { TaskRunOptions } from '../train/task-eval-run.ts';
import type { HandlerContext } from './dispatch.ts';
import { serial } from './models.ts';
import type { EngineDevices } from './devices.ts';
import { scanKeptForTruth } from './detection-truth.ts';
import { heapOf } from '../device/heap.ts';

const THUMBNAIL_SIZE = 96;
/** The worst and most-missed images are the Segment and Detect views' pictures too, under their class maps or boxes: whole, and large enough to see. */
const PICTURE = { size: 320, fit: 'inside' } as const;

/** A dense run's evaluation options here: in this process, on TF.js or onnxruntime as the inference runtime rule says (train/dense-inference.ts). */
type DenseOptions = Pick<TaskRunOptions, 'checkpoint' | 'onProgress' | 'signal'> & { runtime: ReturnType<typeof denseEvalRuntime> };

type Outcome<T extends EngineResult<'eval'>['task']> = Extract<EngineResult<'eval'>, { task: T }>;

export function evaluateRun(p: EngineParams<'eval'>, ctx: HandlerContext, devices: EngineDevices): Promise<EngineResult<'eval'>> {
  return serial(async () => {
    const run = readRun(p.runDir);
    const onProgress: TaskRunOptions['onProgress'] = (task, done, total) => ctx.progress(done, total, task === 'scan' ? 'checking the images' : 'preparing the images');
    const opts: DenseOptions = { checkpoint: p.checkpoint, onProgress, signal: ctx.signal, runtime: denseEvalRuntime({ device: new LocalDevice(tf.getBackend()) }) };
    if (run.settings.task === 'segmentation') return evaluateSegmentation(p, run, opts);
    if (run.settings.task === 'detection') {
      // The scan is kept for the ground truth of the most-missed images the window opens next (detection-truth.ts).
      const { source: _source, data: _data, images: _images, mostMissed, ...r } = await evaluateDetectionRun(p.runDir, run, opts, (s) => scanKeptForTruth(p.runDir, s));
      return { ...r, checkpoint: p.checkpoint, mostMissed: await withThumbnails(mostMissed, PICTURE) } satisfies Outcome<'detection'>;
    }
    return evaluateClassifier(p, devices, onProgress);
  }, ctx.signal);
}

async function evaluateSegmentation(p: EngineParams<'eval'>, run: RunRecord, opts: DenseOptions): Promise<Outcome<'segmentation'>> {
  const { source: _source, data: _data, images: _images, worstImages, ...r } = await evaluateSegmentationRun(p.runDir, run, opts);
  return { ...r, checkpoint: p.checkpoint, worstImages: await withThumbnails(worstImages, PICTURE) };
}

async function evaluateClassifier(p: EngineParams<'eval'>, devices: EngineDevices, onProgress: TaskRunOptions['onProgress']): Promise<Outcome<'classification'>> {
  const device = await devices.current();
  const r = await evaluateModel({
    heap: heapOf(device), // batches cut to what fits the device's memory
    // Where the inference runtime rule says (train/feature-runtime.ts): onnxruntime, or TF.js on the engine's
    // device, whatever it is (wasm-workers split the images across their threads).
    runtime: (model, size, images) => openInferenceModel(model, size, { device, pixels: images * size * size }),
    run: p.runDir,
    checkpoint: p.checkpoint,
    onProgress,
  });
  const misclassified = await withThumbnails(r.misclassified.slice(0, p.maxMisclassified));
  return {
    task: 'classification',
    checkpoint: p.checkpoint,
    classes: r.classes,
    confusion: r.confusion,
    perClass: r.perClass,
    loss: r.loss,
    top1: r.top1,
    top5: r.top5,
    misclassified,
    misclassifiedTotal: r.misclassified.length,
    runtime: r.runtime,
    ...(r.runtimeNote ? { runtimeNote: r.runtimeNote } : {}),
  };
}

/** The images with a thumbnail each (a 96-px square unless `how` says); one deleted or changed since the evaluation is left out (it stays counted). */
async function withThumbnails<T extends { file: string }>(images: readonly T[], how: Parameters<typeof makeThumbnail>[1] = { size: THUMBNAIL_SIZE }): Promise<(T & { thumbnail: string })[]> {
  const out: (T & { thumbnail: string })[] = [];
  for (const image of images) {
    try {
      const t = await makeThumbnail(image.file, how);
      out.push({ ...image, thumbnail: `data:${t.mime};base64,${t.data.toString('base64')}` });
    } catch {
      // Deleted or changed since the evaluation.
    }
  }
  return out;
}
