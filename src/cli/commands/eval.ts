// `eval`: evaluates a run's checkpoint on its validation set, or a weights file on a dataset folder:
// loss, top-1, top-5, per-class accuracy, confusion matrix, the misclassified files.
import { asUsage, positiveInt, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { flagSpecs, settingFlags, settingsFromFlags } from '../settings-flags.ts';
import { DEVICE_FLAG, JSON_FLAG, table, withDevice } from '../common.ts';
import { modelSourceFlags, RUN_FLAG } from '../weights.ts';
import { INFERENCE_FLAGS, describePreprocessing, explicitPreprocessing } from '../preprocessing-flags.ts';
import type { denseEvalRuntime } from '../../train/dense-inference.ts';

const EVAL_SETTING_FLAGS = settingFlags(['variant', 'data', 'imageSize', 'batchSize', 'evalCrop'], {
  variant: 'variant of --weights (default: from the file, else mobilevit_xxs)',
  data: "dataset folder (default: the run's); a flat folder not the run's is evaluated on all images",
  'image-size': "evaluation resolution (default: the run's, else 256)",
  'batch-size': "evaluation batch size (default: the run's, else 32)",
  'eval-crop': "centre-crop fraction (1 = the whole image), or auto (default): the run's recorded recipe, else chosen from the dataset",
});

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`);

export const command: CliCommand = {
  name: 'eval',
  summary: 'evaluate a run (--run) or weights (--weights --data): accuracy, per class, confusion, mistakes',
  flags: {
    run: { ...RUN_FLAG, description: `${RUN_FLAG.description}, on its validation images` },
    checkpoint: { type: 'string', description: 'best | last (with --run)' },
    weights: { type: 'string', description: 'weights file (.safetensors) or a zoo model, instead of a run (a run folder counts as --run)' },
    interpolation: INFERENCE_FLAGS.interpolation,
    // The training settings eval shares, generated from the contract's schema, with what they mean here.
    ...flagSpecs(EVAL_SETTING_FLAGS),
    misclassified: { type: 'number', description: 'how many misclassified files to list', default: 20 },
    runtime: { type: 'string', description: 'auto (default: onnxruntime-node on the studio\'s ONNX export where measured faster on this machine for the network and size, and kept; env MOBILEVIT_INFERENCE_RUNTIME) | tfjs | onnxruntime (classifiers, segmentation and detection runs)' },
    backend: DEVICE_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const [{ openInferenceModel }, { evaluateModel, evaluateSegmentationRun }, { parseRuntime }, { heapOf }, { readRun }] = await Promise.all([
      import('../../train/inference-model.ts'), import('../../train/index.ts'), import('../../train/feature-runtime.ts'),
      import('../../device/heap.ts'), import('../../run/index.ts'),
    ]);
    const [{ LocalDevice }, { denseEvalRuntime }] = await Promise.all([import('../../device/device.ts'), import('../../train/dense-inference.ts')]);
    const runtime = asUsage(() => parseRuntime(flags.runtime));
    const checkpoint = flags.checkpoint as string | undefined;
    if (checkpoint !== undefined && checkpoint !== 'best' && checkpoint !== 'last') throw new UsageError(`--checkpoint must be best or last, got "${checkpoint}"`);
    if (!flags.run && !flags.weights) throw new UsageError('give --run DIR, or --weights FILE with --data DIR');
    const { interpolation } = explicitPreprocessing({ interpolation: flags.interpolation });
    const source = await modelSourceFlags(flags, io); // a zoo name or repo id: pulled when not cached
    if (source.weights && !flags.data) throw new UsageError('--weights needs --data DIR');
    const show = flags.misclassified as number;
    if (!Number.isInteger(show) || show < 0) throw new UsageError(`--misclassified must be a whole number, got ${show}`);
    // A segmentation or detection run is evaluated by its task, on TF.js in this process (the backend --backend
    // starts) or on onnxruntime, as the runtime rule says (train/dense-inference.ts).
    const run = source.run ? readRun(source.run) : null;
    const inThisProcess = <T extends { runtimeNote?: string }>(evaluate: (on: { runtime: ReturnType<typeof denseEvalRuntime> }) => Promise<T>) => withDevice(flags, io, async ({ device }) => {
      if (!(device instanceof LocalDevice)) throw new UsageError(`a ${run!.settings.task} run is evaluated in this process: --backend wasm, cpu or tensorflow, not ${device.info.name}`);
      const r = await evaluate({ runtime: denseEvalRuntime({ device, runtime }) });
      io.err(`outputs on ${r.runtimeNote}`);
      return r;
    });
    // A segmentation run: mIoU, pixel and mean class accuracy, per-class IoU.
    if (run && run.settings.task === 'segmentation') {
      if (flags.data !== undefined) throw new UsageError('a segmentation run is evaluated on its own validation images (no --data)');
      const r = await inThisProcess((on) => evaluateSegmentationRun(source.run!, run, { checkpoint: checkpoint as 'best' | 'last' | undefined, batchSize: positiveInt(flags, 'batch-size'), ...on }));
      if (flags.json) {
        io.out(JSON.stringify(r));
        return 0;
      }
      io.out(`${r.source} on ${r.count} validation images of ${r.data} at ${r.imageSize} px`);
      io.out(`loss ${r.loss.toFixed(4)}   mIoU ${pct(r.miou)}   pixel accuracy ${pct(r.pixelAccuracy)}   mean class accuracy ${pct(r.meanClassAccuracy)}\n`);
      io.out(table(['class', 'IoU', 'accuracy'], r.classes.map((c, i) => [c, pct(r.perClassIou[i]), pct(r.perClassAccuracy[i])])));
      if (r.worstImages.length > 0) {
        io.out(`\nthe ${r.worstImages.length} validation images with the lowest mIoU of their own:`);
        io.out(table(['file', 'mIoU', 'pixel accuracy'], r.worstImages.map((w) => [w.file, pct(w.miou), pct(w.pixelAccuracy)])));
      }
      return 0;
    }
    // A detection run: COCO's mAP, AP50, AP75, AP by box size and per class (its task's evaluation, in this process).
    if (run && run.settings.task === 'detection') {
      if (flags.data !== undefined) throw new UsageError('a detection run is evaluated on its own validation images (no --data)');
      const { evaluateDetectionRun } = await import('../../train/detection-eval-run.ts');
      const r = await inThisProcess((on) => evaluateDetectionRun(source.run!, run, { checkpoint: checkpoint as 'best' | 'last' | undefined, batchSize: positiveInt(flags, 'batch-size'), ...on }));
      if (flags.json) {
        io.out(JSON.stringify(r));
        return 0;
      }
      io.out(`${r.source} on ${r.count} validation images of ${r.data} at ${r.imageSize} px`);
      io.out(`mAP ${pct(r.map)}   AP50 ${pct(r.ap50)}   AP75 ${pct(r.ap75)}   AP small ${pct(r.apSmall)}   medium ${pct(r.apMedium)}   large ${pct(r.apLarge)}   loss ${r.loss.toFixed(4)}\n`);
      io.out(table(['class', 'AP', 'AP50'], r.classes.map((c, i) => [c, pct(r.perClassAp[i]), pct(r.precisionAt50[i] && r.precisionAt50[i]!.reduce((a, b) => a + b, 0) / r.precisionAt50[i]!.length)])));
      return 0;
    }
    const given = settingsFromFlags({ ...flags, variant: undefined }, EVAL_SETTING_FLAGS) as { evalCrop?: number | 'auto' };
    if (typeof given.evalCrop === 'number' && !(given.evalCrop > 0 && given.evalCrop <= 1)) throw new UsageError(`--eval-crop must be in (0, 1], got ${given.evalCrop}`);
    const r = await withDevice(flags, io, ({ device }) => evaluateModel({
      evalCrop: given.evalCrop, interpolation,
      run: source.run, checkpoint: checkpoint as 'best' | 'last' | undefined,
      weights: source.weights, variant: source.variant,
      data: flags.data as string | undefined, imageSize: positiveInt(flags, 'image-size'), batchSize: positiveInt(flags, 'batch-size'),
      heap: heapOf(device), // batches cut to the device's memory (onnxruntime computes natively: a smaller batch only)
      // Where the rule says (train/feature-runtime.ts): onnxruntime, or TF.js on the device --backend chose.
      runtime: (model, size, images) => openInferenceModel(model, size, { device, runtime, pixels: images * size * size }),
    }));
    io.err(`logits on ${r.runtimeNote}`);
    if (flags.json) {
      io.out(JSON.stringify(r));
      return 0;
    }
    io.out(`${r.source} on ${r.count} ${r.images === 'val' ? 'validation' : ''} images of ${r.data} at ${r.imageSize} px, ${describePreprocessing({ imageSize: r.imageSize, cropPct: r.evalCrop, interpolation: r.interpolation })}`);
    io.out(`loss ${r.loss.toFixed(4)}   top-1 ${pct(r.top1)}   top-5 ${pct(r.top5)}\n`);
    io.out(table(['class', 'images', 'accuracy'], r.perClass.map((c) => [c.class, c.count, pct(c.accuracy)])));
    io.out('\nconfusion (rows: true class, columns: predicted, in class order)');
    io.out(table(['', ...r.classes.map((_, i) => String(i))], r.confusion.map((row, i) => [`${i} ${r.classes[i]}`, ...row])));
    if (r.misclassified.length > 0 && show > 0) {
      io.out(`\n${r.misclassified.length} misclassified${r.misclassified.length > show ? `, the ${show} most confident` : ''}:`);
      io.out(table(['file', 'true', 'predicted', 'confidence'],
        r.misclassified.slice(0, show).map((m) => [m.file, m.trueClass, m.predictedClass, pct(m.confidence)])));
    }
    return 0;
  },
};
