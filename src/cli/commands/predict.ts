// `predict`: top-k classes for one image, with the reference evaluation transform.
import { deviceLogits } from '../../device/inference.ts';
import * as tf from '@tensorflow/tfjs';
import { FileReadError, readRegularText } from '../../util/read-file.ts';
import { positiveInt, requireFlag } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { DEVICE_FLAG, withDevice, JSON_FLAG, VARIANT_FLAG, table, variantFlag } from '../common.ts';
import { resolveWeightsFlag } from '../weights.ts';
import { decodeForEval } from '../../data/index.ts';
import { modelFromWeights } from '../../model/from-file.ts';
import { topK } from '../../model/predict.ts';
import { OrtModel, parseRuntime } from '../../export/ort-model.ts';

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
  summary: 'top-k classes for an image',
  flags: {
    variant: VARIANT_FLAG,
    weights: { type: 'string', description: 'weights (.safetensors), or a zoo model (see models list)' },
    'num-classes': { type: 'number', description: 'classifier size (default: read from the weights)' },
    labels: { type: 'string', description: 'text file with one class name per line (default: the names stored in the weights, e.g. ImageNet for zoo models)' },
    image: { type: 'string', description: 'image file (JPEG, PNG, WebP, GIF, TIFF, AVIF…)' },
    'image-size': { type: 'number', description: 'evaluation size (resize shorter side to size/0.9, centre crop)', default: 256 },
    top: { type: 'number', description: 'how many classes to show', default: 5 },
    runtime: { type: 'string', description: 'tfjs (default) | onnxruntime: run the studio\'s ONNX export of the model on onnxruntime-node' },
    backend: DEVICE_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const runtime = parseRuntime(flags.runtime);
    await resolveWeightsFlag(flags, io); // a zoo name or repo id: pulled when not cached
    const variant = variantFlag(flags);
    const weights = requireFlag<string>(flags, 'weights');
    const image = requireFlag<string>(flags, 'image');
    const size = positiveInt(flags, 'image-size')!;
    const k = positiveInt(flags, 'top')!;
    return withDevice(flags, io, async ({ device }) => {
      const { model, report, labels: stored } = modelFromWeights(variant, weights, positiveInt(flags, 'num-classes'));
      for (const note of report.notes) io.err(note);
      const labels = flags.labels === undefined && stored ? stored : readLabels(flags.labels as string | undefined, model.numClasses);
      const img = await decodeForEval(image, size);
      const x = tf.tensor4d(img.data, [1, img.height, img.width, 3]);
      let scores: Float32Array;
      if (runtime === 'onnxruntime') {
        const ort = await OrtModel.create(model, size);
        scores = await ort.logits(img.data, 1);
        await ort.dispose();
      } else {
        const logits = await deviceLogits(device, model, x);
        scores = (await logits.data()) as Float32Array;
        logits.dispose();
      }
      const top = topK(scores, k).map((p) => ({ ...p, label: labels[p.index] }));
      x.dispose();
      model.dispose();
      if (flags.json) io.out(JSON.stringify({ image, variant, runtime, top }));
      else io.out(table(['class', 'probability'], top.map((p) => [p.label, `${(p.probability * 100).toFixed(2)} %`])));
      return 0;
    });
  },
};
