// DeepLabv3-MobileViT as ONNX, block for block as src/model/deeplabv3.ts builds it: the backbone at output stride
// 16, the ASPP (1×1; 3×3 at each atrous rate with Conv's `dilations`; image pooling as GlobalAveragePool → 1×1 →
// Expand back over the map, which is what the studio's tile and a bilinear upsampling of a 1×1 map both give),
// the projection, then the classifier conv with its bias. Dropouts are identities at inference.
import { DEEPLABV3_HEAD, SEGMENTATION_HEAD_PREFIX, type DeepLabV3Head } from '../model/deeplabv3.ts';
import type { MobileViTVariant } from '../model/variants.ts';
import { convBn, type EmitCtx } from './onnx-layers.ts';
import { emitMobileViTBackbone, type State } from './onnx-networks.ts';

/**
 * transformers' MobileViTConvLayer with BatchNorm and ReLU at `<block>.<module>` (`.convolution`, `.normalization`);
 * its nodes are named `<block>/<module>/…`, the studio's block first, as the profiler reads them.
 */
function convBnRelu(ctx: EmitCtx, x: string, block: string, module: string, dilation = 1): string {
  const key = `${block}.${module}`;
  return convBn(ctx, x, `${block}/${module}`, `${key}.convolution`, `${key}.normalization`, { stride: 1, dilation, act: 'relu' });
}

function aspp(ctx: EmitCtx, st: State, block: string, head: DeepLabV3Head): string {
  const { g } = ctx;
  const branches = [convBnRelu(ctx, st.x, block, 'convs.0'), ...head.atrousRates.map((rate, i) => convBnRelu(ctx, st.x, block, `convs.${i + 1}`, rate))];
  const pooled = convBnRelu(ctx, g.op('GlobalAveragePool', [st.x], `${block}/convs.4/GlobalAveragePool`), block, 'convs.4.conv_1x1');
  // [B, C, 1, 1] broadcast to [B, C, h, w]: the batch stays dynamic.
  const image = g.op('Expand', [pooled, g.int64([1, 1, st.h, st.w])], `${block}/convs.4/Expand`);
  const all = g.op('Concat', [...branches, image], `${block}/Concat`, { axis: 1 });
  return convBnRelu(ctx, all, block, 'project');
}

/** Input NCHW [B, 3, H, W] → logits NCHW [B, classes, ⌈H/16⌉, ⌈W/16⌉] (the studio's forward, in NCHW). */
export function emitDeepLabV3(ctx: EmitCtx, input: string, size: [number, number], backbone: MobileViTVariant, head = DEEPLABV3_HEAD): string {
  const features = emitMobileViTBackbone(ctx, input, size, backbone, 16).at(-1)!;
  const mixed = aspp(ctx, features, `${SEGMENTATION_HEAD_PREFIX}.aspp`, head);
  const key = `${SEGMENTATION_HEAD_PREFIX}.classifier`;
  return convBn(ctx, mixed, key, `${key}.convolution`, null, { stride: 1, act: 'none' });
}
