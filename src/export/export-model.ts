// Every way out of the studio in one place: ONNX (built here), safetensors with timm keys, and the
// run's recipe for timm's train.py. Loads the model (a run's checkpoint or a variant with weights),
// writes the file(s), says what it wrote.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { inferencePreprocessing } from '../protocol/recipe.ts';
import { saveWeights } from '../model/weights-file.ts';
import type { DenseNetwork } from '../model/dense-from-file.ts';
import type { Model } from '../model/model.ts';
import type { AnyNetwork } from '../model/networks.ts';
import { taskOf } from '../model/registry/index.ts';
import { loadDenseModel, loadModel, type LoadedModel } from '../run/model.ts';
import { readRun, type CheckpointKind, type RunRecord } from '../run/index.ts';
import { exportDenseOnnx } from './onnx-dense.ts';
import { exportOnnx } from './onnx.ts';
import { DEFAULT_OPSET, type ExportFormat } from './formats.ts';
import { timmRecipe } from './timm-recipe.ts';

export { EXPORT_FORMATS, type ExportFormat } from './formats.ts';

export interface ExportRequest {
  format: ExportFormat;
  /** The file to write (timm-recipe: the YAML args file; the command line goes beside it as .sh). */
  out: string;
  run?: string;
  checkpoint?: CheckpointKind;
  variant?: string;
  weights?: string;
  numClasses?: number;
  /** ONNX input size (default: the run's training size, the zoo model's evaluation size, else 256). */
  imageSize?: number;
  opset?: number;
  /** Labels for a weights export (a run's are its classes). */
  labels?: string[];
  /** A detector's ONNX: softmax, decode and NMS in the graph (this score threshold; NMS at ml-cvnets' settings). */
  detectionScoreThreshold?: number;
}

export interface ExportResult {
  format: ExportFormat;
  files: { path: string; bytes: number }[];
  source: string;
  notes: string[];
  /** timm-recipe: the command line. */
  command?: string;
}

/** What is exported: a classifier with its recorded preprocessing, or a segmentation or detection network. */
type Loaded = Omit<LoadedModel, 'model'> & { model: AnyNetwork };

function loadFor(req: ExportRequest): Loaded {
  if (req.run !== undefined) {
    const run = readRun(req.run);
    return run.settings.task === 'classification' ? loadModel({ run: req.run, checkpoint: req.checkpoint }) : loadDenseModel({ run: req.run, checkpoint: req.checkpoint });
  }
  const task = taskOf(req.variant ?? '');
  if (task === 'segmentation' || task === 'detection') return loadDenseModel({ variant: req.variant, weights: req.weights, numClasses: req.numClasses });
  return loadModel({ variant: req.variant, weights: req.weights, numClasses: req.numClasses });
}

/** The ONNX graph of whichever network was loaded, with the metadata a deployment needs. */
function onnxOf(loaded: Loaded, req: ExportRequest, run: RunRecord | null): Uint8Array {
  const { model } = loaded;
  const labels = loaded.labels ?? req.labels ?? null;
  const metadata = { source: loaded.source, ...(run ? { run_id: run.id } : {}) };
  const opset = req.opset ?? DEFAULT_OPSET;
  const task = taskOf(model.variant);
  if (req.detectionScoreThreshold !== undefined && task !== 'detection') {
    throw new RangeError(`--score-threshold puts a detector's post-processing in the graph; ${model.variant} is not a detection network`);
  }
  if (task !== 'classification') {
    const side = req.imageSize ?? loaded.imageSize!;
    const threshold = req.detectionScoreThreshold;
    return exportDenseOnnx(model as DenseNetwork, {
      size: [side, side], opset, labels, metadata, postprocess: threshold === undefined ? undefined : { scoreThreshold: threshold },
    });
  }
  const pre = inferencePreprocessing(loaded, { imageSize: req.imageSize });
  return exportOnnx(model as Model, { imageSize: pre.imageSize, opset, labels, preprocessing: pre, metadata });
}

const EXAMPLE_NAME: Record<ExportFormat, string> = { onnx: 'model.onnx', safetensors: 'model.safetensors', 'timm-recipe': 'args.yaml' };

/**
 * Checked before any model is loaded, so a wrong `--out` costs one clear line instead of a built model:
 * it must name a file, not a folder; its folder is created when missing.
 */
function prepareOut(out: string, format: ExportFormat): void {
  if (/[\\/]$/.test(out) || statSync(out, { throwIfNoEntry: false })?.isDirectory()) {
    throw new RangeError(`--out ${out} is a folder: give the file to write, such as ${join(out, EXAMPLE_NAME[format])}`);
  }
  try {
    mkdirSync(dirname(out), { recursive: true });
  } catch (e) {
    throw new Error(`cannot create the folder ${dirname(out)} for ${out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function exportModel(req: ExportRequest): ExportResult {
  if (req.format === 'timm-recipe') {
    if (req.run === undefined) throw new RangeError('--format timm-recipe needs --run DIR');
    const run = readRun(req.run);
    prepareOut(req.out, req.format);
    const recipe = timmRecipe(run, { runDir: req.run, argsFile: req.out, checkpoint: req.checkpoint });
    const script = req.out.replace(/\.ya?ml$/i, '') + '.sh';
    writeFileAtomic(req.out, recipe.yaml);
    writeFileAtomic(script, `#!/bin/sh\n# ${recipe.note}\n${recipe.command}\n`);
    return {
      format: req.format, source: req.run, notes: recipe.notes, command: recipe.command,
      files: [{ path: req.out, bytes: Buffer.byteLength(recipe.yaml) }, { path: script, bytes: Buffer.byteLength(recipe.command) }],
    };
  }
  if (req.run === undefined && req.weights === undefined) throw new RangeError('give --run DIR, or --variant V --weights FILE');
  if (req.run === undefined && req.variant === undefined) throw new RangeError('--weights needs --variant');
  prepareOut(req.out, req.format);
  const loaded = loadFor(req);
  try {
    const { model } = loaded;
    if (req.format === 'safetensors') {
      saveWeights(model, req.out, loaded.labels ? { labels: JSON.stringify(loaded.labels) } : {});
      return { format: req.format, source: loaded.source, notes: loaded.notes, files: [{ path: req.out, bytes: fileSize(req.out) }] };
    }
    const bytes = onnxOf(loaded, req, req.run !== undefined ? readRun(req.run) : null);
    writeFileAtomic(req.out, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { format: req.format, source: loaded.source, notes: loaded.notes, files: [{ path: req.out, bytes: bytes.byteLength }] };
  } finally {
    loaded.model.dispose();
  }
}

function fileSize(path: string): number {
  return statSync(path).size;
}
