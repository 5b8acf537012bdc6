// Generated segmentation datasets: images with one filled rectangle of a class's colour on a grey background,
// and the matching index mask (0 background, the rectangle's class inside, optionally a 255 border around it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeIndexMask } from '../../src/data/mask-png.ts';
import { encode } from './dataset.ts';

const COLOURS = [[128, 128, 128], [220, 40, 40], [40, 200, 60], [50, 80, 230], [230, 210, 40], [200, 60, 220]];

export interface SegmentationSample {
  rgb: Uint8Array;
  mask: Uint8Array;
}

/** Sample `i`: class 1 + (i mod (classes − 1)) in a rectangle whose place and size follow from i. */
export function drawSegmentationSample(i: number, classes: number, size: number, border: boolean): SegmentationSample {
  const rgb = new Uint8Array(size * size * 3);
  const mask = new Uint8Array(size * size);
  const cls = 1 + (i % (classes - 1));
  const w = Math.max(4, Math.round(size * (0.3 + 0.1 * (i % 4))));
  const x0 = (i * 7) % (size - w);
  const y0 = (i * 11) % (size - w);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + w;
      const edge = border && inside && (x === x0 || y === y0 || x === x0 + w - 1 || y === y0 + w - 1);
      const c = inside ? cls : 0;
      mask[y * size + x] = edge ? 255 : c;
      rgb.set(COLOURS[c % COLOURS.length], (y * size + x) * 3);
    }
  }
  return { rgb, mask };
}

export interface MakeSegmentationOptions {
  layout: 'images-masks' | 'voc' | 'images-masks-split';
  count: number;
  classes: number;
  size: number;
  /** Write labels.txt (images-masks layouts). */
  labels?: boolean;
  border?: boolean;
}

/** Writes a dataset into `root`; returns the ids (file stems) written. */
export async function makeSegmentationDataset(root: string, opts: MakeSegmentationOptions): Promise<string[]> {
  const ids = Array.from({ length: opts.count }, (_, i) => `img_${String(i).padStart(3, '0')}`);
  const place = (i: number): [string, string, string] => {
    if (opts.layout === 'voc') return [join(root, 'JPEGImages'), join(root, 'SegmentationClass'), '.jpg'];
    const side = opts.layout === 'images-masks-split' ? (i % 4 === 3 ? 'val' : 'train') : '';
    return [join(root, side, 'images'), join(root, side, 'masks'), '.png'];
  };
  for (const [i, id] of ids.entries()) {
    const { rgb, mask } = drawSegmentationSample(i, opts.classes, opts.size, opts.border ?? false);
    const [imageDir, maskDir, ext] = place(i);
    mkdirSync(imageDir, { recursive: true });
    mkdirSync(maskDir, { recursive: true });
    writeFileSync(join(imageDir, id + ext), await encode(rgb, opts.size, opts.size, ext === '.jpg' ? 'jpeg' : 'png'));
    writeFileSync(join(maskDir, `${id}.png`), encodeIndexMask({ width: opts.size, height: opts.size, data: mask }));
  }
  if (opts.layout === 'voc') {
    const sets = join(root, 'ImageSets', 'Segmentation');
    mkdirSync(sets, { recursive: true });
    writeFileSync(join(sets, 'train.txt'), ids.filter((_, i) => i % 4 !== 3).join('\n') + '\n');
    writeFileSync(join(sets, 'val.txt'), ids.filter((_, i) => i % 4 === 3).join('\n') + '\n');
  } else if (opts.labels) {
    writeFileSync(join(root, 'labels.txt'), Array.from({ length: opts.classes }, (_, c) => (c === 0 ? 'background' : `shape${c}`)).join('\n') + '\n');
  }
  return ids;
}
