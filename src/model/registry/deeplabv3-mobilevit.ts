// DeepLabv3 on a MobileViT backbone (semantic segmentation), as transformers' MobileViTForSemanticSegmentation
// builds it with the settings of Apple's apple/deeplabv3-mobilevit-* checkpoints (the head: src/model/deeplabv3.ts).
import { MOBILEVIT_S, MOBILEVIT_XS, MOBILEVIT_XXS } from './mobilevit.ts';
import { denseFamily } from './types.ts';

export const DEEPLABV3_MOBILEVIT = denseFamily({
  id: 'deeplabv3_mobilevit',
  label: 'DeepLabv3-MobileViT',
  task: 'segmentation',
  defaultClasses: 21, // PASCAL VOC with the background
  // The backbone under timm's names, the head under transformers' (segmentation_head.*).
  keys: ['timm', 'transformers'],
  attention: true,
  variants: [
    { name: 'deeplabv3_mobilevit_xxs', label: 'DeepLabv3-MobileViT-XXS', short: 'DL-XXS', spec: { backbone: MOBILEVIT_XXS } },
    { name: 'deeplabv3_mobilevit_xs', label: 'DeepLabv3-MobileViT-XS', short: 'DL-XS', spec: { backbone: MOBILEVIT_XS } },
    { name: 'deeplabv3_mobilevit_s', label: 'DeepLabv3-MobileViT-S', short: 'DL-S', spec: { backbone: MOBILEVIT_S } },
  ],
  zoo: [],
});
