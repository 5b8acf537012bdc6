// `predict`: top-k classes for one image, preprocessed as the model's source records (a run's recipe, a zoo
// row; src/protocol/recipe.ts inferencePreprocessing), or as the flags say. A segmentation or detection network
// (its --variant, or a run of that task) predicts its class mask or its boxes (src/cli/dense-predict.ts).
import type * as tf from '@tensorflow/tfjs';
import { FileReadError, readRegularText } from '../../util/read-file.ts';
import { asUsage, positiveInt, requireFlag, UsageError } from '../args.ts';
import type { ParsedFlags } from '../args.ts';
import type { CliCommand, CliIO } from '../command.ts';
import type { ModelSource } from '../../run/model.ts';
import type { InferenceRuntime } from '../../protocol/devices.ts';
import type { Logits } from '../../train/inference-model.ts';
import { DEVICE_FLAG, withDevice, JSON_FLAG, NETWORK_FLAG, setupBackend, table, inputSize, networkFlag, scoreThreshold, variantFlag } from '../common.ts';
import { modelSourceFlags, RUN_FLAG } from '../weights.ts';
import { INFERENCE_FLAGS, describePreprocessing, explicitPreprocessing } from '../preprocessing-flags.ts';
import { inferencePreprocessing } from '../../protocol/recipe.ts';
import { taskOf } from '../../model/registry/index.ts';
import { readRun } from '../../run/record.ts';

function readLabels(path: string | undefined, classes: number): string[] {
  if (!path) return Array.from({ length: classes }, (_, i) => `class ${i}`);
  let text: string;
  // A regular file of bounded size (100,000 labels of 200 characters at most), never a FIFO or a device.
  try { text = readRegularText(path, { maxBytes: 20 * 1024 * 1024, what: 'labels file' }); } catch (e) { throw new Error(e instanceof FileReadError ? e.message : `${path}: cannot read the labels file`); }
  const labels = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (labels.length !== classes) throw new Error(`${path}: ${labels.length} labels for a ${classes}-class model`);
  return labels;
}

export const command: CliCommand = {
  name: 'predict',
  summary: 'top-k classes for an image; a segmentation network\'s class mask, a detector\'s boxes',
  flags: {
    variant: NETWORK_FLAG,
    weights: { type: 'string', description: 'weights (.safetensors), a zoo model (see models list), or a run folder' },
    run: RUN_FLAG,
    'num-classes': { type: 'number', description: 'classifier size (default: read from the weights)' },
    labels: { type: 'string', description: 'text file with one class name per line (default: the run\'s classes, or the names stored in the weights, e.g. ImageNet for zoo models)' },
    image: { type: 'string', description: 'image file (JPEG, PNG, WebP, GIF, TIFF, AVIF…)' },
    ...INFERENCE_FLAGS,
    top: { type: 'number', description: 'how many classes to show', default: 5 },
    runtime: { type: 'string', description: 'auto (default: the runtime rule, where one image is too little work to leave TF.js; env MOBILEVIT_INFERENCE_RUNTIME) | tfjs | onnxruntime: the studio\'s ONNX export of the model (a classifier, segmentation or detection network) on onnxruntime-node' },
    backend: DEVICE_FLAG,
    json: JSON_FLAG,
    out: { type: 'string', description: 'segmentation: the palette mask PNG to write (VOC palette, palette index = class), its overlay over the image beside it (mask.png → mask.overlay.png); detection: the image with its boxes drawn, PNG' },
    'score-threshold': { type: 'number', description: 'detection: the boxes scoring above this (default 0.3)' },
  },
  async run(flags, io) {
    const { parseRuntime } = await import('../../train/feature-runtime.ts');
    const runtime = asUsage(() => parseRuntime(flags.runtime));
    const image = requireFlag<string>(flags, 'image');
    const k = positiveInt(flags, 'top')!;
    const explicit = explicitPreprocessing(flags);
    if (flags.weights === undefined && flags.run === undefined) throw new UsageError('give --weights FILE|MODEL or --run DIR');
    const source = await modelSourceFlags(flags, io);
    const task = source.run !== undefined ? readRun(source.run).settings.task : taskOf(networkFlag(flags));
    if (task !== 'classification') return predictDense(flags, source, runtime, io);
    if (flags.out !== undefined || flags['score-threshold'] !== undefined) throw new UsageError('--out and --score-threshold are for segmentation and detection networks; a classifier prints its top-k');
    return withDevice(flags, io, async ({ device }) => {
      const [tfjs, { deviceLogits }, { loadModel }, { decodeForEval }, { topK }, { OrtModel }, { checkFits }, { chooseInferenceRuntime, openDecided, ortWhere }, { describeDevice }, { defaultThreads }] = await Promise.all([
        import('@tensorflow/tfjs'), import('../../device/inference.ts'), import('../../run/model.ts'), import('../../data/index.ts'),
        import('../../model/predict.ts'), import('../../export/ort-model.ts'), import('../../device/heap.ts'), import('../../train/feature-runtime.ts'),
        import('../../device/describe.ts'), import('../../device/parallel.ts'),
      ]);
      const loaded = asUsage(() => loadModel({ ...source, variant: variantFlag(flags) }));
      const { model } = loaded;
      try {
        for (const note of loaded.notes) io.err(note);
        const labels = flags.labels === undefined && loaded.labels ? loaded.labels : readLabels(flags.labels as string | undefined, model.numClasses);
        const pre = inferencePreprocessing(loaded, explicit);
        inputSize(pre.imageSize, 'image-size');
        // The runtime rule (train/feature-runtime.ts), on one image's work.
        const used = await chooseInferenceRuntime(model, pre.imageSize, { device, runtime, pixels: pre.imageSize * pre.imageSize });
        const img = await decodeForEval(image, pre.imageSize, pre.cropPct, pre.interpolation);
        const threads = defaultThreads();
        // openInferenceModel would send the weights to the device again: deviceLogits leaves them resident there.
        const opened = await openDecided<Logits>(used, {
          tfjs: async () => {
            checkFits(device, { what: 'predict', variant: model.variant, size: pre.imageSize, images: 1, kind: 'infer' });
            return { forward: (x) => deviceLogits(device, model, x), dispose: async () => undefined };
          },
          onnxruntime: () => OrtModel.create(model, pre.imageSize, threads),
        });
        const x: tf.Tensor4D = tfjs.tensor4d(img.data, [1, img.height, img.width, 3]);
        const logits = await opened.source.forward(x).finally(() => { x.dispose(); return opened.source.dispose(); });
        const scores = (await logits.data()) as Float32Array;
        logits.dispose();
        const top = topK(scores, k).map((p) => ({ ...p, label: labels[p.index] }));
        const where = `${opened.runtime === 'onnxruntime' ? ortWhere(threads) : `TF.js on ${describeDevice(device)}`} (${opened.why})`;
        if (flags.json) io.out(JSON.stringify({ image, variant: model.variant, runtime: opened.runtime, runtimeNote: where, preprocessing: pre, top }));
        else {
          io.err(`${image} at ${pre.imageSize} px, ${describePreprocessing(pre)} (${loaded.source}); logits on ${where}`);
          io.out(table(['class', 'probability'], top.map((p) => [p.label, `${(p.probability * 100).toFixed(2)} %`])));
        }
        return 0;
      } finally {
        model.dispose();
      }
    });
  },
};

/**
 * A segmentation or detection network's prediction, resized whole (no crop) to its input size: on TF.js in this
 * process or on onnxruntime, as the runtime rule says (train/dense-inference.ts).
 */
async function predictDense(flags: ParsedFlags, source: ModelSource, runtime: InferenceRuntime | 'auto' | undefined, io: CliIO): Promise<number> {
  for (const flag of ['eval-crop', 'interpolation']) {
    if (flags[flag] !== undefined) throw new UsageError(`--${flag} is for classifiers; a segmentation or detection network sees the image resized whole (bilinear)`);
  }
  const [{ loadDenseModel }, { densePredict }, { DEFAULT_SCORE_THRESHOLD }, { LocalDevice }] = await Promise.all([
    import('../../run/model.ts'), import('../dense-predict.ts'), import('../../inspect/dense-predict.ts'), import('../../device/device.ts'),
  ]);
  const threshold = scoreThreshold(flags['score-threshold']) ?? DEFAULT_SCORE_THRESHOLD;
  const imageSize = positiveInt(flags, 'image-size');
  if (imageSize !== undefined) inputSize(imageSize, 'image-size');
  const backend = await setupBackend(flags, io);
  const loaded = asUsage(() => loadDenseModel(source.run !== undefined ? { run: source.run } : { ...source, variant: networkFlag(flags) }));
  try {
    for (const note of loaded.notes) io.err(note);
    return await densePredict(loaded, {
      image: requireFlag<string>(flags, 'image'), out: flags.out as string | undefined, json: flags.json === true, imageSize, scoreThreshold: threshold,
      runtime, device: new LocalDevice(backend.name),
      labels: (classes) => (flags.labels === undefined ? null : readLabels(flags.labels as string, classes)),
    }, io);
  } finally {
    loaded.model.dispose();
  }
}
