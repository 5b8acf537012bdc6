// Detection datasets: images with boxes. Two layouts:
//   YOLO       root/images/{train,val}/…, root/labels/{train,val}/<stem>.txt ("class cx cy w h", normalised),
//              names from root/data.yaml (`names:` as a list or an index map) or root/classes.txt
//   COCO JSON  root/annotations/instances_<split>.json (or root/instances_<split>.json) with the images in
//              root/<split>/, root/images/<split>/ or root/images/; bbox = [x, y, w, h] in pixels; category ids
//              mapped to contiguous classes in id order; iscrowd regions kept for evaluation, not for training
// Labels are 1-based here (0 is the background, as the detector predicts it). Every problem (a box outside the
// image, an empty box, an unknown class, an unreadable image) is reported with its file, never fatal; images
// without boxes are kept as negatives.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { readRegularText } from '../util/read-file.ts';
import { DEFAULT_CONCURRENCY, forEachLimit } from './concurrency.ts';
import { orientedSize } from './decode.ts';
import { IMAGE_EXTENSIONS, type SkippedFile } from './scan.ts';
import { cocoFiles } from './dataset-kind.ts';
import { splitClass } from './split.ts';
import { DEFAULT_VAL_FRACTION } from '../protocol/contract.ts';

export interface LabelledBox {
  /** [x, y, w, h] in pixels of the image as displayed. */
  box: [number, number, number, number];
  /** 1-based class. */
  label: number;
  crowd: boolean;
}

export interface DetectionImage {
  image: string;
  width: number;
  height: number;
  boxes: LabelledBox[];
}

export interface DetectionScan {
  root: string;
  layout: 'yolo' | 'coco';
  /** Class names without the background: class k (1-based) is classes[k − 1]. */
  classes: string[];
  train: DetectionImage[];
  val: DetectionImage[];
  split: { valFraction: number; seed: number } | null;
  /** Training boxes per class (crowd regions left out), in class order. */
  boxesPerClass: number[];
  /** Training images without a box. */
  negatives: number;
  skipped: SkippedFile[];
  notes: string[];
  problems: string[];
}

const MAX_ANNOTATION_BYTES = 1024 * 1024 * 1024;
const isImage = (name: string) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** YOLO's class names from data.yaml (`names: [a, b]`, `names:` then `- a` lines or `0: a` lines) or classes.txt. */
function yoloNames(root: string): string[] | undefined {
  const yaml = ['data.yaml', 'data.yml', 'dataset.yaml'].map((f) => join(root, f)).find(existsSync);
  if (yaml) {
    const text = readRegularText(yaml, { maxBytes: 1024 * 1024, what: 'YOLO data file' });
    const inline = text.match(/^names:\s*\[(.*)\]\s*$/m);
    if (inline) return inline[1].split(',').map((s) => s.trim().replace(/^['"]|['"]$/g, '')).filter(Boolean);
    const block = text.match(/^names:\s*\n((?:[ \t]+.*\n?)+)/m);
    if (block) {
      const rows = block[1].split('\n').map((l) => l.trim()).filter(Boolean);
      const names: string[] = [];
      for (const row of rows) {
        const item = row.match(/^-\s*(.+)$/) ?? row.match(/^(\d+)\s*:\s*(.+)$/);
        if (!item) continue;
        const [index, name] = item.length === 3 ? [Number(item[1]), item[2]] : [names.length, item[1]];
        names[index] = name.trim().replace(/^['"]|['"]$/g, '');
      }
      if (names.length) return Array.from(names, (n, i) => n ?? `class ${i}`);
    }
  }
  const txt = join(root, 'classes.txt');
  if (existsSync(txt)) return readRegularText(txt, { maxBytes: 1024 * 1024, what: 'classes file' }).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return undefined;
}

interface Raw {
  image: string;
  /** Boxes as the file gives them, resolved to pixels once the image's size is known. */
  boxes: (size: { width: number; height: number }) => LabelledBox[];
}

/**
 * Keeps a box when it is usable: clipped to the image (with a note when it leaves it), dropped when empty or
 * degenerate. Each problem is reported once per file with the box's position in it.
 */
function checkBox(b: LabelledBox, where: string, size: { width: number; height: number }, skipped: SkippedFile[]): LabelledBox | undefined {
  const [x, y, w, h] = b.box;
  if (![x, y, w, h].every(Number.isFinite) || w <= 0 || h <= 0) {
    skipped.push({ path: where, reason: `an empty or degenerate box [${b.box.map((v) => +v.toFixed(2)).join(', ')}] was dropped` });
    return undefined;
  }
  const x0 = Math.max(0, x), y0 = Math.max(0, y), x1 = Math.min(size.width, x + w), y1 = Math.min(size.height, y + h);
  if (x1 <= x0 || y1 <= y0) {
    skipped.push({ path: where, reason: `a box [${b.box.map((v) => +v.toFixed(2)).join(', ')}] lies outside the ${size.width}×${size.height} image and was dropped` });
    return undefined;
  }
  if (x0 !== x || y0 !== y || x1 !== x + w || y1 !== y + h) {
    skipped.push({ path: where, reason: `a box [${b.box.map((v) => +v.toFixed(2)).join(', ')}] reaches outside the ${size.width}×${size.height} image and was clipped` });
  }
  return { ...b, box: [x0, y0, x1 - x0, y1 - y0] };
}

function yoloSplit(root: string, split: string, classes: number, skipped: SkippedFile[]): Raw[] {
  const imageDir = join(root, 'images', split);
  const labelDir = join(root, 'labels', split);
  if (!isDir(imageDir)) return [];
  return readdirSync(imageDir).filter((f) => isImage(f) && !f.startsWith('.')).sort().map((f) => {
    const labelFile = join(labelDir, `${basename(f, extname(f))}.txt`);
    const lines = existsSync(labelFile) ? readRegularText(labelFile, { maxBytes: 16 * 1024 * 1024, what: 'YOLO label file' }).split(/\r?\n/) : [];
    return {
      image: join(imageDir, f),
      boxes: (size) => lines.flatMap((line, i) => {
        const parts = line.trim().split(/\s+/).filter(Boolean);
        if (parts.length === 0) return [];
        const [cls, cx, cy, w, h] = parts.map(Number);
        if (parts.length < 5 || ![cls, cx, cy, w, h].every(Number.isFinite) || !Number.isInteger(cls)) {
          skipped.push({ path: `${labelFile}:${i + 1}`, reason: 'not a "class cx cy w h" line' });
          return [];
        }
        if (cls < 0 || cls >= classes) {
          skipped.push({ path: `${labelFile}:${i + 1}`, reason: `class ${cls} is not one of the ${classes} names` });
          return [];
        }
        const box = checkBox({ box: [(cx - w / 2) * size.width, (cy - h / 2) * size.height, w * size.width, h * size.height], label: cls + 1, crowd: false },
          `${labelFile}:${i + 1}`, size, skipped);
        return box ? [box] : [];
      }),
    };
  });
}

interface CocoFile {
  images?: { id: number; file_name: string }[];
  annotations?: { image_id: number; category_id: number; bbox: number[]; iscrowd?: number }[];
  categories?: { id: number; name: string }[];
}

function cocoSplit(root: string, split: string, file: string, skipped: SkippedFile[], categories: Map<number, number>): Raw[] {
  const json = JSON.parse(readRegularText(file, { maxBytes: MAX_ANNOTATION_BYTES, what: 'COCO annotation file' })) as CocoFile;
  const imageDir = [join(root, split), join(root, 'images', split), join(root, 'images')].find(isDir) ?? root;
  const byImage = new Map<number, NonNullable<CocoFile['annotations']>>();
  for (const a of json.annotations ?? []) {
    if (!categories.has(a.category_id)) {
      skipped.push({ path: `${file} (annotation of image ${a.image_id})`, reason: `category ${a.category_id} is not in the file's categories` });
      continue;
    }
    byImage.set(a.image_id, [...(byImage.get(a.image_id) ?? []), a]);
  }
  return (json.images ?? []).map((img) => ({
    image: join(imageDir, img.file_name),
    boxes: (size) => (byImage.get(img.id) ?? []).flatMap((a, i) => {
      const [x, y, w, h] = Array.isArray(a.bbox) ? a.bbox : [NaN, NaN, NaN, NaN];
      const box = checkBox({ box: [x, y, w, h], label: categories.get(a.category_id)!, crowd: a.iscrowd === 1 }, `${file} (image ${img.file_name}, box ${i + 1})`, size, skipped);
      return box ? [box] : [];
    }),
  }));
}

export async function scanDetection(rootArg: string, opts: { valFraction?: number; seed?: number; concurrency?: number } = {}): Promise<DetectionScan> {
  const root = resolve(rootArg);
  const skipped: SkippedFile[] = [];
  const notes: string[] = [];
  const problems: string[] = [];
  const valFraction = opts.valFraction ?? DEFAULT_VAL_FRACTION;
  const seed = opts.seed ?? 0;
  let layout: DetectionScan['layout'];
  let classes: string[];
  let trainRaw: Raw[];
  let valRaw: Raw[] | undefined;
  const coco = cocoFiles(root);
  if (isDir(join(root, 'images')) && isDir(join(root, 'labels'))) {
    layout = 'yolo';
    const names = yoloNames(root);
    if (!names) problems.push(`${root} has no data.yaml or classes.txt naming the classes`);
    classes = names ?? [];
    trainRaw = yoloSplit(root, 'train', classes.length, skipped);
    const val = ['val', 'valid', 'validation'].find((s) => isDir(join(root, 'images', s)));
    if (val) valRaw = yoloSplit(root, val, classes.length, skipped);
  } else {
    layout = 'coco';
    const train = [...coco.keys()].find((s) => s.startsWith('train')) ?? [...coco.keys()][0];
    const val = [...coco.keys()].find((s) => s.startsWith('val'));
    const first = JSON.parse(readRegularText(coco.get(train)!, { maxBytes: MAX_ANNOTATION_BYTES, what: 'COCO annotation file' })) as CocoFile;
    const cats = [...(first.categories ?? [])].sort((a, b) => a.id - b.id);
    classes = cats.map((c) => c.name);
    const categories = new Map(cats.map((c, i) => [c.id, i + 1]));
    trainRaw = cocoSplit(root, train, coco.get(train)!, skipped, categories);
    if (val && val !== train) valRaw = cocoSplit(root, val, coco.get(val)!, skipped, categories);
  }

  const resolveAll = async (raws: Raw[]) => {
    const out: (DetectionImage | undefined)[] = new Array(raws.length);
    await forEachLimit(raws.map((r, i) => ({ r, i })), opts.concurrency ?? DEFAULT_CONCURRENCY, async ({ r, i }) => {
      try {
        const size = await orientedSize(r.image);
        out[i] = { image: r.image, width: size.width, height: size.height, boxes: r.boxes(size) };
      } catch (e) {
        const err = e as Error & { file?: string; reason?: string };
        skipped.push({ path: err.file ?? r.image, reason: err.reason ?? err.message });
      }
    });
    return out.filter((x): x is DetectionImage => x !== undefined);
  };
  let train = await resolveAll(trainRaw);
  let val = valRaw ? await resolveAll(valRaw) : [];
  let split: DetectionScan['split'] = null;
  if (!valRaw) {
    const parts = splitClass(train, 'detection', valFraction, seed);
    [train, val, split] = [parts.train, parts.val, { valFraction, seed }];
  }
  const boxesPerClass = classes.map(() => 0);
  for (const img of train) for (const b of img.boxes) if (!b.crowd) boxesPerClass[b.label - 1]++;
  const negatives = train.filter((img) => img.boxes.every((b) => b.crowd)).length;
  if (negatives > 0) notes.push(`${negatives} training image(s) have no box: kept as negatives (background only)`);
  if (train.length === 0) problems.push(`no usable training image in ${root}`);
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  return { root, layout, classes, train, val, split, boxesPerClass, negatives, skipped, notes, problems };
}
