// `export`: every way out of the studio: ONNX (built by the studio, verified in onnxruntime by the tests),
// safetensors with timm keys, and the run's recipe for timm's train.py.
import { positiveInt, requireFlag, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { BACKEND_FLAG, JSON_FLAG, inputSize, scoreThreshold, setupBackend } from '../common.ts';
import { DEFAULT_OPSET, EXPORT_FORMATS, MAX_OPSET, MIN_OPSET, type ExportFormat } from '../../export/formats.ts';
import { readRegularText } from '../../util/read-file.ts';
import { modelSourceFlags } from '../weights.ts';

export const command: CliCommand = {
  name: 'export',
  summary: 'write a run or weights as ONNX or safetensors (timm keys), or a run as a timm train.py recipe',
  flags: {
    format: { type: 'string', description: EXPORT_FORMATS.join(' | ') },
    out: { type: 'string', description: 'file to write (timm-recipe: the YAML args file; a .sh with the command goes beside it)' },
    run: { type: 'string', description: 'run folder (its recorded recipe gives the ONNX preprocessing metadata)' },
    checkpoint: { type: 'string', description: 'best | last (with --run; default best, else last)' },
    variant: { type: 'string', description: 'variant of --weights (a classifier, deeplabv3_mobilevit_* or ssdlite_mobilevit_*)' },
    weights: { type: 'string', description: 'weights (.safetensors or a PyTorch checkpoint) or a zoo model, instead of a run (a run folder counts as --run)' },
    'num-classes': { type: 'number', description: 'classifier size (default: read from the weights)' },
    labels: { type: 'string', description: 'text file with one class name per line (ONNX metadata, with --weights)' },
    'image-size': { type: 'number', description: "ONNX input size (default: the run's, the zoo model's, else 256; segmentation 512, detection 320)" },
    'score-threshold': { type: 'number', description: 'detection only: softmax, box decoding and NonMaxSuppression in the graph, keeping scores above this (outputs det_boxes, det_scores, det_labels, det_image); without it the raw box_deltas, class_logits and anchors' },
    opset: { type: 'number', description: `ONNX opset, ${MIN_OPSET}–${MAX_OPSET} (default ${DEFAULT_OPSET}: LayerNormalization)` },
    backend: BACKEND_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    const format = requireFlag<string>(flags, 'format');
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${format}"`);
    const out = requireFlag<string>(flags, 'out');
    const checkpoint = flags.checkpoint as string | undefined;
    if (checkpoint !== undefined && checkpoint !== 'best' && checkpoint !== 'last') throw new UsageError(`--checkpoint must be best or last, got "${checkpoint}"`);
    if (!flags.run && !flags.weights) throw new UsageError('give --run DIR, or --variant V --weights FILE');
    const source = await modelSourceFlags(flags, io); // a zoo name or repo id: pulled when not cached, and its variant
    if (source.weights && !source.variant) throw new UsageError('--weights needs --variant');
    const size = positiveInt(flags, 'image-size');
    const labels = flags.labels === undefined ? undefined
      : readRegularText(flags.labels as string, { maxBytes: 20 * 1024 * 1024, what: 'labels file' }).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    // The model's weights are held in TF.js variables, so a backend is needed to load them.
    if (format !== 'timm-recipe') await setupBackend(flags, io);
    const { exportModel } = await import('../../export/export-model.ts');
    const r = exportModel({
      format: format as ExportFormat, out,
      run: source.run, checkpoint: checkpoint as 'best' | 'last' | undefined,
      variant: source.run === undefined ? source.variant : undefined, weights: source.weights,
      numClasses: positiveInt(flags, 'num-classes'), imageSize: size === undefined ? undefined : inputSize(size, 'image-size'),
      opset: positiveInt(flags, 'opset'), labels, detectionScoreThreshold: scoreThreshold(flags['score-threshold']),
    });
    for (const n of r.notes) io.err(n);
    if (flags.json) io.out(JSON.stringify(r));
    else {
      for (const f of r.files) io.out(`wrote ${f.path} (${(f.bytes / 1e6).toFixed(2)} MB, ${r.format}) from ${r.source}`);
      if (r.command) io.out(`run it: ${r.command}`);
    }
    return 0;
  },
};
