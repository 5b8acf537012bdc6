// DeepLabv3 on a MobileViT backbone (semantic segmentation), as transformers' MobileViTForSemanticSegmentation
// builds it with the settings of Apple's apple/deeplabv3-mobilevit-* checkpoints (the head: src/model/deeplabv3.ts).
import { MOBILEVIT_S, MOBILEVIT_XS, MOBILEVIT_XXS } from './mobilevit.ts';
import { denseFamily, type ZooEntry } from './types.ts';

type Size = 'xxs' | 'xs' | 's';

// Apple's checkpoints on the Hub, under transformers' names, trained on BGR input (the loader swaps the stem's
// input channels when it maps the names). Their safetensors conversions live in the Hub's conversion pull requests'
// refs (refs/pr/2 for all three: the convert bot's "Adding `safetensors` variant of this model"), as the
// classifiers' do; main holds only the pickled pytorch_model.bin. The Hub states each file's sha256 (its LFS id),
// checked at every download.
const appleFile = (hfSize: string, size: Size, revision: string, file: string, params: number, miou: number): ZooEntry<`deeplabv3_mobilevit_${Size}`> => ({
  name: `deeplabv3_mobilevit_${size}`, repo: `apple/deeplabv3-mobilevit-${hfSize}`, revision, file,
  variant: `deeplabv3_mobilevit_${size}`, source: 'apple', keys: 'huggingface', channels: 'BGR', normalize: null,
  score: { metric: 'mIoU', value: miou }, params, imageSize: 512, evalCrop: 1, interpolation: 'bilinear', labels: 'voc-21',
});

export const DEEPLABV3_MOBILEVIT = denseFamily({
  id: 'deeplabv3_mobilevit',
  label: 'DeepLabv3-MobileViT',
  task: 'segmentation',
  defaultClasses: 21, // PASCAL VOC with the background
  // The backbone under timm's names, the head under transformers' (segmentation_head.*).
  keys: ['timm', 'transformers'],
  onnx: 'deeplabv3',
  attention: true,
  blockLabels: { 'segmentation_head.aspp': 'ASPP: four conv branches, image pooling, projection', 'segmentation_head.classifier': 'Classifier (1×1)' },
  variants: [
    { name: 'deeplabv3_mobilevit_xxs', label: 'DeepLabv3-MobileViT-XXS', short: 'DL-XXS', spec: { backbone: MOBILEVIT_XXS } },
    { name: 'deeplabv3_mobilevit_xs', label: 'DeepLabv3-MobileViT-XS', short: 'DL-XS', spec: { backbone: MOBILEVIT_XS } },
    { name: 'deeplabv3_mobilevit_s', label: 'DeepLabv3-MobileViT-S', short: 'DL-S', spec: { backbone: MOBILEVIT_S } },
  ],
  zoo: [
    appleFile('xx-small', 'xxs', 'refs/pr/2', 'model.safetensors', 1_854_853, 73.6),
    appleFile('x-small', 'xs', 'refs/pr/2', 'model.safetensors', 2_944_069, 77.1),
    appleFile('small', 's', 'refs/pr/2', 'model.safetensors', 6_357_941, 79.1),
  ],
});
