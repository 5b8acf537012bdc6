// SSDLite-MobileViT as ONNX, block for block as src/model/ssdlite.ts builds it: the backbone at output stride 32,
// levels at its last two stages, the separable extra layers, the global level, and a head per level; each head's
// NCHW map is laid out as the studio's forward lays out its NHWC one ([B, h·w·anchors, 4 + classes], cells
// row-major, anchors within a cell), so `box_deltas` and `class_logits` come out in the anchors' order. The anchors
// of the graph's fixed input size are a constant. Optionally the post-processing follows in the graph
// (detection-postprocess.ts): softmax, decode with SSD's variances, and onnxruntime's NonMaxSuppression per class.
import { anchorsPerCell, BOX_VARIANCE, makeAnchors } from '../model/anchors.ts';
import type { PostprocessOptions } from '../model/detection-postprocess.ts';
import { SSDLITE_SPEC, type SsdSpec } from '../model/ssdlite.ts';
import type { MobileViTVariant } from '../model/variants.ts';
import { convBn, type EmitCtx } from './onnx-layers.ts';
import { emitMobileViTBackbone, type State } from './onnx-networks.ts';

const stride2 = (n: number) => Math.floor((n - 1) / 2) + 1; // a 3×3 conv at stride 2, padding 1

/** ml-cvnets' ConvLayer at `<block>.<module>.block.conv` (+ `.block.norm`), nodes named `<block>/<module>/…`. */
function cvnetsConv(ctx: EmitCtx, x: string, block: string, module: string, o: { stride?: number; depthwise?: boolean; norm: boolean; act: 'relu' | 'none' }): string {
  const key = `${block}.${module}.block`;
  return convBn(ctx, x, `${block}/${module}`, `${key}.conv`, o.norm ? `${key}.norm` : null, { stride: o.stride ?? 1, depthwise: o.depthwise, act: o.act });
}

/**
 * ml-cvnets' SeparableConv at `<block>[.<module>]`: depthwise 3×3 + BatchNorm, then pointwise (BatchNorm + ReLU, or
 * its bias alone).
 */
function separable(ctx: EmitCtx, x: string, block: string, module: string | null, stride: number, pointwise: 'bn-relu' | 'bias'): string {
  const at = (part: string) => (module === null ? part : `${module}.${part}`);
  const dw = cvnetsConv(ctx, x, block, at('dw_conv'), { stride, depthwise: true, norm: true, act: 'none' });
  return cvnetsConv(ctx, dw, block, at('pw_conv'), pointwise === 'bias' ? { norm: false, act: 'none' } : { norm: true, act: 'relu' });
}

/** The raw outputs' values, and the anchors the graph's input size gives. */
export interface SsdGraph {
  boxDeltas: string;
  classLogits: string;
  /** [A·4] (cx, cy, w, h), normalised: makeAnchors of the maps at this size. */
  anchors: Float32Array;
}

/** Input NCHW [B, 3, H, W] → box deltas [B, A, 4] and class logits [B, A, classes] (background first). */
export function emitSsdLite(ctx: EmitCtx, input: string, size: [number, number], backbone: MobileViTVariant, numClasses: number, spec: SsdSpec = SSDLITE_SPEC): SsdGraph {
  const { g } = ctx;
  const stages = emitMobileViTBackbone(ctx, input, size, backbone, 32);
  const levels: State[] = [stages[3], stages[4]];
  let st = stages[4];
  for (const os of [64, 128, 256]) {
    st = { x: separable(ctx, st.x, `extra_layers.os_${os}`, null, 2, 'bn-relu'), h: stride2(st.h), w: stride2(st.w) };
    levels.push(st);
  }
  const pooled = g.op('GlobalAveragePool', [st.x], 'extra_layers.os_-1/GlobalAveragePool');
  levels.push({ x: cvnetsConv(ctx, pooled, 'extra_layers.os_-1', '1', { norm: false, act: 'relu' }), h: 1, w: 1 });

  const perAnchor = 4 + numClasses;
  const perLevel = levels.map((level, i) => {
    const block = `ssd_heads.${i}`;
    const last = i === levels.length - 1;
    let y: string;
    if (last) y = cvnetsConv(ctx, level.x, block, 'loc_cls_layer', { norm: false, act: 'none' });
    else {
      const projected = ctx.weights.has(`${block}.proj_layer.block.conv.weight`)
        ? cvnetsConv(ctx, level.x, block, 'proj_layer', { norm: true, act: 'relu' }) : level.x;
      y = separable(ctx, projected, block, 'loc_cls_layer', 1, 'bias');
    }
    // NCHW [B, anchors·per, h, w] → NHWC → [B, h·w·anchors, per]: the studio's (and ml-cvnets') anchor order.
    const nhwc = g.op('Transpose', [y], `${block}/Transpose`, { perm: [0, 2, 3, 1] });
    const anchors = level.h * level.w * anchorsPerCell(spec.anchors.aspectRatios[i]);
    return g.op('Reshape', [nhwc, g.int64([-1, anchors, perAnchor])], `${block}/Reshape`);
  });
  const all = g.op('Concat', perLevel, 'ssd_heads/Concat', { axis: 1 });
  const part = (from: number, to: number, name: string) => g.op('Slice', [all, g.int64([from]), g.int64([to]), g.int64([2])], `ssd_heads/${name}/Slice`);
  return {
    boxDeltas: part(0, 4, 'box_deltas'),
    classLogits: part(4, perAnchor, 'class_logits'),
    anchors: makeAnchors(levels.map((l) => [l.h, l.w]), spec.anchors),
  };
}

/** The post-processed detections of every image, as `forward --score-threshold` writes them. */
export interface SsdDetections {
  /** [N, 4] (x0, y0, x1, y1), normalised, not clipped. */
  boxes: string;
  /** [N] */
  scores: string;
  /** [N] int64, the class (background = 0, never detected). */
  labels: string;
  /** [N] int64, the image of the batch. */
  image: string;
}

/**
 * detection-postprocess.ts in the graph, for every image of the batch: softmax, the boxes decoded on the anchors,
 * then NonMaxSuppression per class but the background (scores strictly above the threshold, IoU above `nmsIou`
 * suppressed, `perClass` kept), ordered by image, class and descending score as the studio's postprocess orders
 * them. The per-image cut of COCO evaluation (`perImage`) is not applied.
 */
export function emitSsdPostprocess(ctx: EmitCtx, out: SsdGraph, numClasses: number, o: PostprocessOptions): SsdDetections {
  const { g } = ctx;
  const name = 'postprocess';
  const count = out.anchors.length / 4;
  const centres = new Float32Array(count * 2);
  const sizes = new Float32Array(count * 2);
  for (let a = 0; a < count; a++) {
    centres.set(out.anchors.subarray(4 * a, 4 * a + 2), 2 * a);
    sizes.set(out.anchors.subarray(4 * a + 2, 4 * a + 4), 2 * a);
  }
  const anchorCentre = g.weight(`${name}.anchor_centres`, [count, 2], centres);
  const anchorSize = g.weight(`${name}.anchor_sizes`, [count, 2], sizes);
  const slice = (x: string, from: number, to: number, axis: number, label: string) =>
    g.op('Slice', [x, g.int64([from]), g.int64([to]), g.int64([axis])], `${name}/${label}/Slice`);
  // centre = d_xy · 0.1 · anchor size + anchor centre; size = exp(d_wh · 0.2) · anchor size.
  const offset = g.op('Mul', [g.op('Mul', [slice(out.boxDeltas, 0, 2, 2, 'centre'), g.scalar(`${name}.centre_variance`, BOX_VARIANCE.centre)], `${name}/centre/Scale`), anchorSize], `${name}/centre/Mul`);
  const centre = g.op('Add', [offset, anchorCentre], `${name}/centre/Add`);
  const scaled = g.op('Mul', [slice(out.boxDeltas, 2, 4, 2, 'size'), g.scalar(`${name}.size_variance`, BOX_VARIANCE.size)], `${name}/size/Scale`);
  const size = g.op('Mul', [g.op('Exp', [scaled], `${name}/size/Exp`), anchorSize], `${name}/size/Mul`);
  const half = g.op('Mul', [size, g.scalar(`${name}.half`, 0.5)], `${name}/half/Mul`);
  const corners = g.op('Concat', [g.op('Sub', [centre, half], `${name}/min/Sub`), g.op('Add', [centre, half], `${name}/max/Add`)], `${name}/corners/Concat`, { axis: 2 });
  // [B, A, classes] → the classes but the background, as NonMaxSuppression wants them: [B, classes − 1, A].
  const probs = g.op('Softmax', [out.classLogits], `${name}/Softmax`, { axis: -1 });
  const scores = g.op('Transpose', [slice(probs, 1, numClasses, 2, 'foreground')], `${name}/scores/Transpose`, { perm: [0, 2, 1] });
  // The box corners are (x0, y0, x1, y1) where NonMaxSuppression names them (y0, x0, y1, x1): IoU is the same.
  const selected = g.op('NonMaxSuppression', [corners, scores, g.int64([o.perClass]), g.weight(`${name}.iou_threshold`, [1], Float32Array.of(o.nmsIou)),
    g.weight(`${name}.score_threshold`, [1], Float32Array.of(o.scoreThreshold))], `${name}/NonMaxSuppression`, { center_point_box: 0 });
  const flat = (x: string, label: string) => g.op('Reshape', [x, g.int64([-1])], `${name}/${label}/Flatten`);
  const image = flat(slice(selected, 0, 1, 1, 'image'), 'image');
  const labels = g.op('Add', [flat(slice(selected, 1, 2, 1, 'class'), 'class'), g.int64([1])], `${name}/labels/Add`);
  const imageAndBox = g.op('Concat', [slice(selected, 0, 1, 1, 'image_column'), slice(selected, 2, 3, 1, 'box_column')], `${name}/image_box/Concat`, { axis: 1 });
  return {
    boxes: g.op('GatherND', [corners, imageAndBox], `${name}/boxes/GatherND`),
    scores: g.op('GatherND', [scores, selected], `${name}/scores/GatherND`),
    labels,
    image,
  };
}
