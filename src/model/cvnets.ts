// Apple ml-cvnets' MobileViT names (encoder.*, as in its detection and segmentation checkpoints) → timm's, which
// the studio's backbone uses. ml-cvnets keeps attention's qkv fused like timm, so every tensor maps one to one.
// Keys outside the encoder (extra_layers.*, ssd_heads.*) pass through: the detector keeps ml-cvnets' names there.
import type { TensorMap } from './safetensors.ts';

/** ml-cvnets' ConvLayer holds `block.conv` and `block.norm`; timm's ConvNormAct `conv` and `bn`. */
const CN = '(conv|norm)';
const cn = (part: string) => (part === 'norm' ? 'bn' : 'conv');

/** Each rule: an ml-cvnets key prefix → timm's, from the match (layer_<n> is timm's stage n − 1). */
const RULES: [RegExp, (m: string[]) => string][] = [
  [new RegExp(`^encoder\\.conv_1\\.block\\.${CN}\\.`), (m) => `stem.${cn(m[1])}.`],
  [new RegExp(`^encoder\\.conv_1x1_exp\\.block\\.${CN}\\.`), (m) => `final_conv.${cn(m[1])}.`],
  [/^encoder\.classifier\.fc\./, () => 'head.fc.'],
  // The MV2 blocks: encoder.layer_<n>.<i>.block.{exp_1x1,conv_3x3,red_1x1}.block.{conv,norm}
  [new RegExp(`^encoder\\.layer_(\\d)\\.(\\d+)\\.block\\.(exp_1x1|conv_3x3|red_1x1)\\.block\\.${CN}\\.`),
    (m) => `stages.${+m[1] - 1}.${m[2]}.${{ exp_1x1: 'conv1_1x1', conv_3x3: 'conv2_kxk', red_1x1: 'conv3_1x1' }[m[3]]}.${cn(m[4])}.`],
  // The MobileViT block, always the second module of its layer.
  [new RegExp(`^encoder\\.layer_(\\d)\\.1\\.local_rep\\.conv_3x3\\.block\\.${CN}\\.`), (m) => `stages.${+m[1] - 1}.1.conv_kxk.${cn(m[2])}.`],
  [/^encoder\.layer_(\d)\.1\.local_rep\.conv_1x1\.block\.conv\./, (m) => `stages.${+m[1] - 1}.1.conv_1x1.`],
  [/^encoder\.layer_(\d)\.1\.global_rep\.(\d+)\.pre_norm_(mha|ffn)\.(0|1\.qkv_proj|1\.out_proj|1|4)\./, (m) =>
    `stages.${+m[1] - 1}.1.transformer.${m[2]}.${{ 'mha0': 'norm1', 'mha1.qkv_proj': 'attn.qkv', 'mha1.out_proj': 'attn.proj', 'ffn0': 'norm2', 'ffn1': 'mlp.fc1', 'ffn4': 'mlp.fc2' }[m[3] + m[4]]}.`],
  // The LayerNorm after the last transformer layer is global_rep's last module.
  [/^encoder\.layer_(\d)\.1\.global_rep\.\d+\.(?=(weight|bias)$)/, (m) => `stages.${+m[1] - 1}.1.norm.`],
  [new RegExp(`^encoder\\.layer_(\\d)\\.1\\.(conv_proj|fusion)\\.block\\.${CN}\\.`),
    (m) => `stages.${+m[1] - 1}.1.${m[2] === 'fusion' ? 'conv_fusion' : 'conv_proj'}.${cn(m[3])}.`],
];

/** True when the keys are ml-cvnets' (its encoder's stem is encoder.conv_1). */
export function isCvnets(tensors: TensorMap): boolean {
  for (const k of tensors.keys()) if (k.startsWith('encoder.conv_1.block.') || k.startsWith('encoder.layer_1.')) return true;
  return false;
}

/** One ml-cvnets key under timm's name; keys outside the encoder are returned as they are. */
export function cvnetsKeyToTimm(key: string): string {
  for (const [re, to] of RULES) {
    const m = key.match(re);
    if (m) return to(m) + key.slice(m[0].length);
  }
  return key;
}

export function cvnetsToTimm(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [key, t] of tensors) out.set(cvnetsKeyToTimm(key), t);
  return out;
}
