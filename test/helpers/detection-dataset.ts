// Generated detection datasets: grey images with one or two filled rectangles, each of its class's colour, and
// their boxes written as a YOLO folder (images/ + labels/ + data.yaml) or as COCO JSON (instances_*.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from './dataset.ts';

const BACKGROUND = [128, 128, 128];
const COLOURS = [[220, 40, 40], [40, 200, 60], [50, 80, 230], [230, 210, 40]];

/** A box in pixels, [x, y, w, h], with its 0-based class. */
export interface DrawnBox {
  box: [number, number, number, number];
  cls: number;
}

/** Sample `i`: a rectangle of class i mod classes, and on every other image a second one of the next class. */
export function drawDetectionSample(i: number, classes: number, size: number): { rgb: Uint8Array; boxes: DrawnBox[] } {
  const rgb = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++) rgb.set(BACKGROUND, 3 * p);
  const boxes: DrawnBox[] = [];
  const two = i % 2 === 1;
  const side = Math.round(size * (two ? 0.3 + 0.05 * (i % 3) : 0.4 + 0.1 * (i % 3)));
  const places: [number, number][] = two ? [[(i * 3) % 6, (i * 5) % 8], [size - side - ((i * 7) % 6), size - side - ((i * 2) % 5)]]
    : [[(i * 7) % (size - side), (i * 11) % (size - side)]];
  places.forEach(([x0, y0], k) => {
    const cls = (i + k) % classes;
    const h = Math.round(side * (k === 0 ? 1 : 0.8));
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + side; x++) rgb.set(COLOURS[cls % COLOURS.length], (y * size + x) * 3);
    boxes.push({ box: [x0, y0, side, h], cls });
  });
  return { rgb, boxes };
}

export interface MakeDetectionOptions {
  layout: 'yolo' | 'coco';
  /** Images in all; every fourth goes to val. */
  count: number;
  classes: number;
  size: number;
}

export const classNames = (classes: number) => ['red', 'green', 'blue', 'yellow'].slice(0, classes);

/** Writes the dataset into `root`. */
export async function makeDetectionDataset(root: string, opts: MakeDetectionOptions): Promise<void> {
  const names = classNames(opts.classes);
  const coco: Record<string, { images: object[]; annotations: object[] }> = { train: { images: [], annotations: [] }, val: { images: [], annotations: [] } };
  for (let i = 0; i < opts.count; i++) {
    const split = i % 4 === 3 ? 'val' : 'train';
    const id = `img_${String(i).padStart(3, '0')}`;
    const { rgb, boxes } = drawDetectionSample(i, opts.classes, opts.size);
    const png = await encode(rgb, opts.size, opts.size, 'png');
    if (opts.layout === 'yolo') {
      mkdirSync(join(root, 'images', split), { recursive: true });
      mkdirSync(join(root, 'labels', split), { recursive: true });
      writeFileSync(join(root, 'images', split, `${id}.png`), png);
      const s = opts.size;
      writeFileSync(join(root, 'labels', split, `${id}.txt`), boxes.map(({ box: [x, y, w, h], cls }) => `${cls} ${(x + w / 2) / s} ${(y + h / 2) / s} ${w / s} ${h / s}`).join('\n') + '\n');
    } else {
      mkdirSync(join(root, split), { recursive: true });
      writeFileSync(join(root, split, `${id}.png`), png);
      coco[split].images.push({ id: i + 1, file_name: `${id}.png`, width: opts.size, height: opts.size });
      // COCO's category ids need not be contiguous: 10, 20, …
      for (const b of boxes) coco[split].annotations.push({ id: coco[split].annotations.length + 1, image_id: i + 1, category_id: 10 * (b.cls + 1), bbox: b.box, area: b.box[2] * b.box[3], iscrowd: 0 });
    }
  }
  if (opts.layout === 'yolo') writeFileSync(join(root, 'data.yaml'), `names: [${names.join(', ')}]\n`);
  else {
    mkdirSync(join(root, 'annotations'), { recursive: true });
    const categories = names.map((name, c) => ({ id: 10 * (c + 1), name }));
    for (const split of ['train', 'val']) writeFileSync(join(root, 'annotations', `instances_${split}.json`), JSON.stringify({ ...coco[split], categories }));
  }
}
