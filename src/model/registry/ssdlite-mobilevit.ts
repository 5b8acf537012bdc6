// SSDLite on a MobileViT backbone (object detection), as Apple's ml-cvnets v0.1 builds it
// (config/detection/ssd_mobilevit_*_320.yaml; the head: src/model/ssdlite.ts).
import { MOBILEVIT_S, MOBILEVIT_XS, MOBILEVIT_XXS } from './mobilevit.ts';
import { denseFamily, type ZooEntry } from './types.ts';

type Size = 'xxs' | 'xs' | 's';

// ml-cvnets' COCO detectors at 320 px, published as PyTorch checkpoints on Apple's site (ml-cvnets'
// docs/source/en/models/detection/README-ssd-mobilevit.md), under ml-cvnets' names and trained on BGR input.
// No checksum is published: the first download's sha256 is recorded and every later one is held to it.
const cvnetsFile = (size: Size, params: number, map: number): ZooEntry<`ssdlite_mobilevit_${Size}`> => ({
  name: `ssdlite_mobilevit_${size}`, repo: `ml-cvnets/ssd_mobilevit_${size}_320`, revision: 'v0.1', file: `detection/ssd_mobilevit_${size}_320.pt`, cvnets: true,
  variant: `ssdlite_mobilevit_${size}`, source: 'apple', keys: 'ml-cvnets', channels: 'BGR', normalize: null,
  score: { metric: 'mAP', value: map }, params, imageSize: 320, evalCrop: 1, interpolation: 'bilinear', labels: 'coco-81',
});

export const SSDLITE_MOBILEVIT = denseFamily({
  id: 'ssdlite_mobilevit',
  label: 'SSDLite-MobileViT',
  task: 'detection',
  defaultClasses: 81, // COCO with the background
  // The backbone under timm's names, the extra layers and heads under ml-cvnets' (extra_layers.*, ssd_heads.*).
  keys: ['timm', 'ml-cvnets'],
  onnx: 'ssdlite',
  attention: true,
  variants: [
    { name: 'ssdlite_mobilevit_xxs', label: 'SSDLite-MobileViT-XXS', short: 'SSD-XXS', spec: { backbone: MOBILEVIT_XXS } },
    { name: 'ssdlite_mobilevit_xs', label: 'SSDLite-MobileViT-XS', short: 'SSD-XS', spec: { backbone: MOBILEVIT_XS } },
    { name: 'ssdlite_mobilevit_s', label: 'SSDLite-MobileViT-S', short: 'SSD-S', spec: { backbone: MOBILEVIT_S } },
  ],
  zoo: [
    cvnetsFile('xxs', 1_755_050, 19.9),
    cvnetsFile('xs', 2_742_042, 24.8),
    cvnetsFile('s', 5_738_826, 27.9),
  ],
});
