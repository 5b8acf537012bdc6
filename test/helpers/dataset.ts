// Writes small, learnable image datasets for tests. Each class has its own hue and its own shape (disc, square,
// stripes, …) drawn at a random position and scale over a noisy grey background, so a tiny network separates the
// classes within a few epochs at 32-64 px, even after random-resized crops and flips.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng, mixSeed } from '../../src/util/random.ts';

export interface MakeDatasetOptions {
  /** A count (names become class_0, class_1, …) or the class names themselves. */
  classes: number | string[];
  /** Images per class (in the split layout: per class in train/). */
  perClass: number;
  /** Side of the square images in pixels. */
  size: number;
  /** 'split' writes root/train/<class> and root/val/<class>; 'flat' writes root/<class>. */
  layout?: 'flat' | 'split';
  /** Validation images per class in the split layout (default: a quarter of perClass, at least 1). */
  valPerClass?: number;
  /** 'mixed' alternates PNG and JPEG. */
  format?: 'png' | 'jpeg' | 'mixed';
  /** Adds a truncated JPEG, a truncated PNG, a zero-byte file and a text file named .jpg (all to be skipped),
   *  plus a hidden image, a .DS_Store and a notes.txt (all to be ignored), in the first class folder. */
  corrupt?: boolean;
  seed?: number;
}

export interface GeneratedFile {
  path: string;
  label: number;
  split: 'train' | 'val' | null;
}

export interface GeneratedDataset {
  root: string;
  classes: string[];
  /** The readable images written, with their class index (classes sorted by name). */
  files: GeneratedFile[];
  /** Files the scan must report as skipped. */
  skipped: string[];
  /** Files the scan must ignore silently. */
  ignored: string[];
}

export async function makeDataset(root: string, opts: MakeDatasetOptions): Promise<GeneratedDataset> {
  const names = typeof opts.classes === 'number' ? Array.from({ length: opts.classes }, (_, i) => `class_${i}`) : opts.classes;
  const classes = [...names].sort();
  const layout = opts.layout ?? 'flat';
  const valPerClass = opts.valPerClass ?? Math.max(1, Math.round(opts.perClass / 4));
  const seed = opts.seed ?? 1;
  const files: GeneratedFile[] = [];
  const parts: { dir: string; split: 'train' | 'val' | null; count: number }[] =
    layout === 'split'
      ? [{ dir: 'train', split: 'train', count: opts.perClass }, { dir: 'val', split: 'val', count: valPerClass }]
      : [{ dir: '', split: null, count: opts.perClass }];
  let n = 0;
  for (const part of parts) {
    for (const [label, name] of classes.entries()) {
      const dir = join(root, part.dir, name);
      await mkdir(dir, { recursive: true });
      for (let i = 0; i < part.count; i++) {
        const format = opts.format === 'mixed' ? (n % 2 ? 'jpeg' : 'png') : (opts.format ?? 'png');
        const rgb = drawClassImage(label, classes.length, opts.size, mixSeed(seed, n++));
        const path = join(dir, `img_${String(i).padStart(3, '0')}.${format === 'jpeg' ? 'jpg' : 'png'}`);
        await writeFile(path, await encode(rgb, opts.size, opts.size, format));
        files.push({ path, label, split: part.split });
      }
    }
  }
  const skipped: string[] = [];
  const ignored: string[] = [];
  if (opts.corrupt) {
    const dir = join(root, parts[0].dir, classes[0]);
    const sample = drawClassImage(0, classes.length, 64, seed);
    const jpeg = await encode(sample, 64, 64, 'jpeg');
    const png = await encode(sample, 64, 64, 'png');
    const bad: [string, Buffer | string][] = [
      ['truncated.jpg', jpeg.subarray(0, jpeg.length >> 1)],
      ['truncated.png', png.subarray(0, png.length >> 1)],
      ['empty.png', Buffer.alloc(0)],
      ['not-really.jpg', 'this is a text file with an image extension\n'],
    ];
    const quiet: [string, Buffer | string][] = [
      ['.hidden.png', png],
      ['.DS_Store', 'Bud1'],
      ['notes.txt', 'some notes\n'],
    ];
    for (const [name, data] of bad) skipped.push(await put(join(dir, name), data));
    for (const [name, data] of quiet) ignored.push(await put(join(dir, name), data));
  }
  return { root, classes, files, skipped, ignored };
}

async function put(path: string, data: Buffer | string): Promise<string> {
  await writeFile(path, data);
  return path;
}

export async function encode(rgb: Uint8Array, width: number, height: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const img = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 92 }).toBuffer();
}

/** One image of class `label`: the class's hue and shape on a noisy grey background. */
export function drawClassImage(label: number, numClasses: number, size: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const fg = hueToRgb(label / numClasses);
  const bg = [90, 90, 90];
  const shape = label % 5;
  const cx = rng.uniform(0.35, 0.65) * size;
  const cy = rng.uniform(0.35, 0.65) * size;
  const r = rng.uniform(0.25, 0.4) * size;
  const period = Math.max(4, Math.round(size / 6));
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const inside =
        shape === 0 ? dx * dx + dy * dy < r * r
        : shape === 1 ? Math.abs(dx) < r && Math.abs(dy) < r
        : shape === 2 ? Math.floor(y / period) % 2 === 0
        : shape === 3 ? Math.floor(x / period) % 2 === 0
        : Math.abs(dx) + Math.abs(dy) < r * 1.3;
      const base = inside ? fg : bg;
      for (let c = 0; c < 3; c++) {
        const v = base[c] + rng.uniform(-20, 20);
        out[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}

function hueToRgb(h: number): [number, number, number] {
  const f = (n: number): number => {
    const k = (n + h * 6) % 6;
    return 230 * (1 - Math.max(0, Math.min(k, 4 - k, 1))) + 25;
  };
  return [f(5), f(3), f(1)];
}

/**
 * Random shapes (disc, square, diamond, bars) on a noisy grey of random brightness; the class is the shape's hue
 * (degrees in the folder name, ±8° per image), in train/ and val/ folders. Transfer tasks use different hues for
 * the source and the target (test/train/head-only.test.ts, bench/zoo.ts).
 */
export async function hueDataset(root: string, hues: number[], perClass: number, valPerClass: number, size: number, seed: number): Promise<void> {
  let n = 0;
  const bar = Math.max(3, Math.round(size / 8));
  for (const split of ['train', 'val'] as const) {
    for (const hue of hues) {
      const dir = join(root, split, `hue${hue}`);
      await mkdir(dir, { recursive: true });
      for (let i = 0; i < (split === 'train' ? perClass : valPerClass); i++) {
        const rng = new Rng(mixSeed(seed, n++));
        const h = (hue + rng.uniform(-8, 8)) / 360;
        const f = (k: number) => { const t = (((k + h * 6) % 6) + 6) % 6; return 200 * (1 - Math.max(0, Math.min(t, 4 - t, 1))) + 40; };
        const fg = [f(5), f(3), f(1)];
        const shape = rng.int(0, 3);
        const cx = rng.uniform(0.3, 0.7) * size, cy = rng.uniform(0.3, 0.7) * size, r = rng.uniform(0.15, 0.35) * size;
        const grey = rng.uniform(60, 160);
        const out = new Uint8Array(size * size * 3);
        for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
          const dx = x - cx, dy = y - cy;
          const inside = shape === 0 ? Math.hypot(dx, dy) < r : shape === 1 ? Math.abs(dx) < r && Math.abs(dy) < r
            : shape === 2 ? Math.abs(dx) + Math.abs(dy) < r * 1.3 : Math.abs(dy) < r && Math.floor(x / bar) % 2 === 0;
          for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round((inside ? fg[c] : grey) + rng.uniform(-30, 30))));
        }
        await writeFile(join(dir, `${i}.png`), await encode(out, size, size, 'png'));
      }
    }
  }
}
