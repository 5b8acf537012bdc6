// Hugging Face transformers' MobileViT names (apple/mobilevit-*) → timm's. HF splits timm's attn.qkv
// [3d, d] into query/key/value [d, d]; they are stacked back here (rows q, then k, then v).
import type { NamedTensor, TensorMap } from './safetensors.ts';

const RULES: [RegExp, string][] = [
  [/^conv_stem\.convolution\./, 'stem.conv.'],
  [/^conv_stem\.normalization\./, 'stem.bn.'],
  [/^conv_1x1_exp\.convolution\./, 'final_conv.conv.'],
  [/^conv_1x1_exp\.normalization\./, 'final_conv.bn.'],
  [/^encoder\.layer\.(\d+)\.layer\.(\d+)\./, 'stages.$1.$2.'],
  [/^encoder\.layer\.(\d+)\.downsampling_layer\./, 'stages.$1.0.'],
  [/^encoder\.layer\.(\d+)\.conv_kxk\.convolution\./, 'stages.$1.1.conv_kxk.conv.'],
  [/^encoder\.layer\.(\d+)\.conv_kxk\.normalization\./, 'stages.$1.1.conv_kxk.bn.'],
  [/^encoder\.layer\.(\d+)\.conv_1x1\.convolution\./, 'stages.$1.1.conv_1x1.'],
  [/^encoder\.layer\.(\d+)\.transformer\.layer\.(\d+)\./, 'stages.$1.1.transformer.$2.'],
  [/^encoder\.layer\.(\d+)\.layernorm\./, 'stages.$1.1.norm.'],
  [/^encoder\.layer\.(\d+)\.conv_projection\.convolution\./, 'stages.$1.1.conv_proj.conv.'],
  [/^encoder\.layer\.(\d+)\.conv_projection\.normalization\./, 'stages.$1.1.conv_proj.bn.'],
  [/^encoder\.layer\.(\d+)\.fusion\.convolution\./, 'stages.$1.1.conv_fusion.conv.'],
  [/^encoder\.layer\.(\d+)\.fusion\.normalization\./, 'stages.$1.1.conv_fusion.bn.'],
];

const SUFFIX: [RegExp, string][] = [
  [/\.expand_1x1\.convolution\./, '.conv1_1x1.conv.'],
  [/\.expand_1x1\.normalization\./, '.conv1_1x1.bn.'],
  [/\.conv_3x3\.convolution\./, '.conv2_kxk.conv.'],
  [/\.conv_3x3\.normalization\./, '.conv2_kxk.bn.'],
  [/\.reduce_1x1\.convolution\./, '.conv3_1x1.conv.'],
  [/\.reduce_1x1\.normalization\./, '.conv3_1x1.bn.'],
  [/\.layernorm_before\./, '.norm1.'],
  [/\.layernorm_after\./, '.norm2.'],
  [/\.attention\.output\.dense\./, '.attn.proj.'],
  [/\.intermediate\.dense\./, '.mlp.fc1.'],
  [/\.output\.dense\./, '.mlp.fc2.'],
];

/** True when the keys look like a transformers MobileViTForImageClassification / MobileViTModel. */
export function isHuggingFace(tensors: TensorMap): boolean {
  for (const k of tensors.keys()) if (k.startsWith('mobilevit.') || k.startsWith('conv_stem.convolution')) return true;
  return false;
}

export function hfKeyToTimm(key: string): string {
  if (key.startsWith('classifier.')) return key.replace(/^classifier\./, 'head.fc.');
  let k = key.replace(/^mobilevit\./, '');
  for (const [re, to] of RULES) if (re.test(k)) { k = k.replace(re, to); break; }
  for (const [re, to] of SUFFIX) k = k.replace(re, to);
  return k;
}

/** Renames HF keys to timm's and merges query/key/value into qkv. Unknown keys pass through renamed. */
export function huggingFaceToTimm(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  const qkv = new Map<string, Partial<Record<'query' | 'key' | 'value', NamedTensor>>>();
  for (const [key, t] of tensors) {
    const m = key.match(/^(.*)\.attention\.attention\.(query|key|value)\.(weight|bias)$/);
    if (m) {
      const target = `${hfKeyToTimm(m[1] + '.x').slice(0, -2)}.attn.qkv.${m[3]}`;
      const parts = qkv.get(target) ?? {};
      parts[m[2] as 'query' | 'key' | 'value'] = t;
      qkv.set(target, parts);
      continue;
    }
    out.set(hfKeyToTimm(key), t);
  }
  for (const [target, { query, key, value }] of qkv) {
    if (!query || !key || !value) throw new Error(`Hugging Face checkpoint lacks one of query/key/value for ${target}`);
    const data = new Float32Array(query.data.length * 3);
    data.set(query.data, 0);
    data.set(key.data, query.data.length);
    data.set(value.data, 2 * query.data.length);
    out.set(target, { shape: [query.shape[0] * 3, ...query.shape.slice(1)], data });
  }
  return out;
}
