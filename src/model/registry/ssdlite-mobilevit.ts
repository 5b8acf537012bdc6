// SSDLite on a MobileViT backbone (object detection), as Apple's ml-cvnets v0.1 builds it
// (config/detection/ssd_mobilevit_*_320.yaml; the head: src/model/ssdlite.ts).
import { MOBILEVIT_S, MOBILEVIT_XS, MOBILEVIT_XXS } from './mobilevit.ts';
import { denseFamily } from './types.ts';

export const SSDLITE_MOBILEVIT = denseFamily({
  id: 'ssdlite_mobilevit',
  label: 'SSDLite-MobileViT',
  task: 'detection',
  defaultClasses: 81, // COCO with the background
  // The backbone under timm's names, the extra layers and heads under ml-cvnets' (extra_layers.*, ssd_heads.*).
  keys: ['timm', 'ml-cvnets'],
  attention: true,
  variants: [
    { name: 'ssdlite_mobilevit_xxs', label: 'SSDLite-MobileViT-XXS', short: 'SSD-XXS', spec: { backbone: MOBILEVIT_XXS } },
    { name: 'ssdlite_mobilevit_xs', label: 'SSDLite-MobileViT-XS', short: 'SSD-XS', spec: { backbone: MOBILEVIT_XS } },
    { name: 'ssdlite_mobilevit_s', label: 'SSDLite-MobileViT-S', short: 'SSD-S', spec: { backbone: MOBILEVIT_S } },
  ],
  zoo: [],
});
