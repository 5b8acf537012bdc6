// ONNX export of a studio model: the graph is built here from the model's own variant table and weights
// (BatchNorm folded, LayerNormalization from opset 17, attention as MatMul/Softmax, unfold/fold as
// Reshape/Transpose, half-pixel bilinear Resize where a map is not divisible by the patch).
// Input `pixels` float32 NCHW [batch, 3, S, S] in [0, 1], RGB, no mean/std (exactly what the studio's
// own model takes, in NCHW); output `logits` [batch, classes].
import type { Model } from '../model/model.ts';
import { familyOf } from '../model/registry/index.ts';
import { stateDict } from '../model/weights.ts';
import { MIN_INPUT_SIZE } from '../model/types.ts';
import { REFERENCE_PREPROCESSING, type Preprocessing } from '../protocol/recipe.ts';
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from './formats.ts';
import { encodeModel, OnnxGraph } from './onnx-graph.ts';
import { emitClassifier } from './onnx-networks.ts';

export const ONNX_INPUT = 'pixels';
export const ONNX_OUTPUT = 'logits';
export { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET };

export interface OnnxExportOptions {
  imageSize: number;
  opset?: number;
  /** Class names, written to the metadata (default: "class i"). */
  labels?: string[] | null;
  /** The evaluation transform (src/protocol/recipe.ts inferencePreprocessing) written to the metadata; its
   *  imageSize is the graph's. Default: the reference crop and kernel. */
  preprocessing?: Omit<Preprocessing, 'imageSize'>;
  /** Extra metadata (run id, checkpoint…). */
  metadata?: Record<string, string>;
}

/** The preprocessing a deployment must reproduce, as written to the model's metadata. */
export function preprocessing({ imageSize, cropPct, interpolation }: Preprocessing) {
  return {
    resize: { shorter_side: Math.floor(imageSize / cropPct), interpolation },
    crop: { kind: 'center', size: [imageSize, imageSize], crop_pct: cropPct },
    channel_order: 'RGB',
    layout: 'NCHW',
    scale: '1/255 (pixels in [0, 1])',
    mean: null,
    std: null,
  };
}

export function exportOnnx(model: Model, o: OnnxExportOptions): Uint8Array {
  const family = familyOf(model.variant);
  if (family?.task !== 'classification') throw new RangeError(`${model.variant} is not a classifier: its ONNX graph is not the classifiers'`);
  const opset = o.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) throw new RangeError(`--opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  const size = o.imageSize;
  if (!Number.isInteger(size) || size < MIN_INPUT_SIZE || size > 4096) throw new RangeError(`the image size must be an integer from ${MIN_INPUT_SIZE} to 4096, got ${size}`);
  const labels = o.labels ?? Array.from({ length: model.numClasses }, (_, i) => `class ${i}`);
  if (labels.length !== model.numClasses) throw new RangeError(`${labels.length} labels for a ${model.numClasses}-class model`);
  const { cropPct, interpolation } = o.preprocessing ?? REFERENCE_PREPROCESSING;

  const g = new OnnxGraph(opset);
  const ctx = { g, weights: stateDict(model) };
  const out = emitClassifier(ctx, ONNX_INPUT, size, model.spec);
  const meta: Record<string, string> = {
    variant: model.variant,
    num_classes: String(model.numClasses),
    labels: JSON.stringify(labels),
    input_size: JSON.stringify([3, size, size]),
    preprocessing: JSON.stringify(preprocessing({ imageSize: size, cropPct, interpolation })),
    ...o.metadata,
  };
  return encodeModel(g, {
    input: { name: ONNX_INPUT, dims: ['batch', 3, size, size] },
    output: { name: ONNX_OUTPUT, dims: ['batch', model.numClasses] },
  }, out, meta, model.variant);
}
