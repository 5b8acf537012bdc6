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
  // The levels' strides at any input size: the backbone's 16 and 32, the extra layers' 64, 128, 256, then global.
  blockLabels: {
    'extra_layers.os_64': 'Extra layer → stride 64', 'extra_layers.os_128': 'Extra layer → stride 128',
    'extra_layers.os_256': 'Extra layer → stride 256', 'extra_layers.os_-1': 'Extra layer → global (1×1)',
    'ssd_heads.0': 'Head of level 1 (stride 16)', 'ssd_heads.1': 'Head of level 2 (stride 32)', 'ssd_heads.2': 'Head of level 3 (stride 64)',
    'ssd_heads.3': 'Head of level 4 (stride 128)', 'ssd_heads.4': 'Head of level 5 (stride 256)', 'ssd_heads.5': 'Head of level 6 (global)',
  },
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
