// Segmentation datasets: a folder of images with a label mask each. Two layouts:
//   PASCAL VOC   root/JPEGImages/<id>.jpg, root/SegmentationClass/<id>.png (palette: the index is the class),
//                root/ImageSets/Segmentation/{train,val}.txt (ids); the 21 VOC names
//   images+masks root/images/<stem>.<ext> + root/masks/<stem>.png, or root/{train,val}/{images,masks}/…,
//                with an optional root/labels.txt (one name a line, background first); without it the
//                classes are numbered from the largest index found
// 255 in a mask means "ignore". Every pair is checked (both readable, same size, indices within the labels); a
// pair that fails is skipped with its file and reason, never fatal. The scan also reports each class's share
// of the labelled training pixels.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { IGNORE_INDEX } from '../util/mask-values.ts';
import { readRegularFile, readRegularText } from '../util/read-file.ts';
import { DEFAULT_CONCURRENCY, forEachLimit } from './concurrency.ts';
import { orientedSize } from './decode.ts';
import { decodeIndexMask } from './mask-png.ts';
import { IMAGE_EXTENSIONS, type SkippedFile } from './scan.ts';
import { splitClass } from './split.ts';
import { DEFAULT_VAL_FRACTION, VOC_CLASSES } from '../protocol/contract.ts';

/** The largest mask file read (a 8192×8192 palette PNG compresses far below this). */
export const MAX_MASK_BYTES = 64 * 1024 * 1024;

export interface MaskPair {
  image: string;
  mask: string;
  width: number;
  height: number;
}

export interface SegmentationScan {
  root: string;
  layout: 'voc' | 'images-masks';
  classes: string[];
  /** Where the names came from. */
  classSource: 'voc' | 'labels.txt' | 'numbered';
  train: MaskPair[];
  val: MaskPair[];
  /** How validation was made when the folder gives none; null when it does. */
  split: { valFraction: number; seed: number } | null;
  /** Each class's share of the labelled training pixels, in label order. */
  pixelShare: number[];
  /** Share of the training pixels labelled 255 (ignored). */
  ignoredShare: number;
  /** Per class in label order, how many training and validation images hold at least one of its pixels. */
  imagesWith: { train: number[]; val: number[] };
  skipped: SkippedFile[];
  notes: string[];
  /** Things that stop training (no usable pair); empty when the dataset is usable. */
  problems: string[];
}

export interface SegmentationScanOptions {
  valFraction?: number;
  seed?: number;
  concurrency?: number;
}

const stemOf = (file: string) => basename(file, extname(file));

async function filesIn(dir: string, keep: (name: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile() && !e.name.startsWith('.') && keep(e.name)) out.set(stemOf(e.name), join(dir, e.name));
  }
  return out;
}

const isImage = (name: string) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
const isPng = (name: string) => extname(name).toLowerCase() === '.png';

/** Pairs images and masks by file stem; each one without its partner is skipped with the reason. */
function pairUp(images: Map<string, string>, masks: Map<string, string>, skipped: SkippedFile[], ids?: string[]): { image: string; mask: string }[] {
  const pairs: { image: string; mask: string }[] = [];
  for (const id of ids ?? [...images.keys()].sort()) {
    const image = images.get(id);
    const mask = masks.get(id);
    if (image && mask) pairs.push({ image, mask });
    else if (image) skipped.push({ path: image, reason: 'no mask with the same name' });
    else if (mask) skipped.push({ path: mask, reason: 'no image with the same name' });
    else skipped.push({ path: id, reason: 'listed in the split file, but neither its image nor its mask exists' });
  }
  if (!ids) for (const [id, mask] of masks) if (!images.has(id)) skipped.push({ path: mask, reason: 'no image with the same name' });
  return pairs;
}

function readIds(file: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  return readRegularText(file, { maxBytes: 16 * 1024 * 1024, what: 'split file' }).split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
}

export async function scanSegmentation(rootArg: string, opts: SegmentationScanOptions = {}): Promise<SegmentationScan> {
  const root = resolve(rootArg);
  const skipped: SkippedFile[] = [];
  const notes: string[] = [];
  const problems: string[] = [];
  const valFraction = opts.valFraction ?? DEFAULT_VAL_FRACTION;
  const seed = opts.seed ?? 0;
  let layout: SegmentationScan['layout'];
  let train: { image: string; mask: string }[];
  let val: { image: string; mask: string }[] | undefined;
  let classes: string[] | undefined;
  let classSource: SegmentationScan['classSource'] = 'numbered';

  if (existsSync(join(root, 'JPEGImages')) && existsSync(join(root, 'SegmentationClass'))) {
    layout = 'voc';
    classes = VOC_CLASSES;
    classSource = 'voc';
    const images = await filesIn(join(root, 'JPEGImages'), isImage);
    const masks = await filesIn(join(root, 'SegmentationClass'), isPng);
    const sets = join(root, 'ImageSets', 'Segmentation');
    const [trainIds, valIds] = [readIds(join(sets, 'train.txt')), readIds(join(sets, 'val.txt'))];
    if (trainIds && valIds) {
      train = pairUp(images, masks, skipped, trainIds);
      val = pairUp(images, masks, skipped, valIds);
    } else {
      notes.push(`no ImageSets/Segmentation/train.txt and val.txt: every image with a mask is used, and validation is split off`);
      train = pairUp(images, masks, skipped);
    }
  } else {
    layout = 'images-masks';
    const side = async (dir: string) => pairUp(await filesIn(join(dir, 'images'), isImage), await filesIn(join(dir, 'masks'), isPng), skipped);
    if (existsSync(join(root, 'train', 'images'))) {
      train = await side(join(root, 'train'));
      const valDir = ['val', 'valid', 'validation'].map((d) => join(root, d)).find((d) => existsSync(join(d, 'images')));
      if (valDir) val = await side(valDir);
    } else {
      train = await side(root);
    }
    const labelsFile = join(root, 'labels.txt');
    if (existsSync(labelsFile)) {
      classes = readRegularText(labelsFile, { maxBytes: 1024 * 1024, what: 'labels file' }).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      classSource = 'labels.txt';
      if (classes.length > IGNORE_INDEX) problems.push(`${labelsFile} names ${classes.length} classes; masks hold at most ${IGNORE_INDEX} (255 means ignore)`);
    }
  }

  // Read every pair: sizes must match and indices must be known labels. Counts are kept per pair (by mask file)
  // so that a rejected pair adds nothing.
  const checked = new Map<string, { pair: MaskPair; counts: Float64Array }>();
  const all = [...train, ...(val ?? [])];
  await forEachLimit(all, opts.concurrency ?? DEFAULT_CONCURRENCY, async (p) => {
    try {
      const size = await orientedSize(p.image);
      const mask = decodeIndexMask(readRegularFile(p.mask, { maxBytes: MAX_MASK_BYTES, what: 'mask' }), p.mask);
      if (mask.width !== size.width || mask.height !== size.height) {
        skipped.push({ path: p.mask, reason: `mask is ${mask.width}×${mask.height}, its image ${p.image} is ${size.width}×${size.height}` });
        return;
      }
      const counts = new Float64Array(256);
      for (const v of mask.data) counts[v]++;
      checked.set(p.mask, { pair: { ...p, width: size.width, height: size.height }, counts });
    } catch (e) {
      // ImageReadError, FileReadError and MaskError name their file and give a short reason.
      const err = e as Error & { file?: string; reason?: string };
      skipped.push({ path: err.file ?? p.image, reason: err.reason ?? err.message });
    }
  });
  const largest = Math.max(-1, ...[...checked.values()].map(({ counts }) => {
    for (let i = IGNORE_INDEX - 1; i >= 0; i--) if (counts[i] > 0) return i;
    return -1;
  }));
  if (!classes) {
    classes = Array.from({ length: Math.max(2, largest + 1) }, (_, i) => `class ${i}`);
    notes.push(`no labels.txt: ${classes.length} classes numbered from the largest index found in the masks (${largest})`);
  }
  const numClasses = classes.length;
  for (const [mask, { counts }] of checked) {
    const beyond = counts.findIndex((c, i) => c > 0 && i >= numClasses && i !== IGNORE_INDEX);
    if (beyond >= 0) {
      skipped.push({ path: mask, reason: `holds class index ${beyond}, beyond the ${numClasses} labels` });
      checked.delete(mask);
    }
  }
  const keep = (pairs: { image: string; mask: string }[]) => pairs.flatMap((p) => (checked.has(p.mask) ? [checked.get(p.mask)!.pair] : []));
  let trainPairs = keep(train);
  let valPairs = val ? keep(val) : [];
  let split: SegmentationScan['split'] = null;
  if (!val) {
    const parts = splitClass(trainPairs, 'segmentation', valFraction, seed);
    [trainPairs, valPairs, split] = [parts.train, parts.val, { valFraction, seed }];
  }
  const totals = new Float64Array(256);
  for (const p of trainPairs) {
    const { counts } = checked.get(p.mask)!;
    for (let i = 0; i < 256; i++) totals[i] += counts[i];
  }
  const imagesWith = (pairs: MaskPair[]) => Array.from({ length: numClasses }, (_, c) => pairs.filter((p) => checked.get(p.mask)!.counts[c] > 0).length);
  const labelled = totals.reduce((a, c, i) => (i === IGNORE_INDEX ? a : a + c), 0);
  const everything = labelled + totals[IGNORE_INDEX];
  if (trainPairs.length === 0) problems.push(`no usable image-and-mask pair for training in ${root}`);
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  return {
    root, layout, classes, classSource, train: trainPairs, val: valPairs, split,
    pixelShare: Array.from({ length: numClasses }, (_, i) => (labelled > 0 ? totals[i] / labelled : 0)),
    ignoredShare: everything > 0 ? totals[IGNORE_INDEX] / everything : 0,
    imagesWith: { train: imagesWith(trainPairs), val: imagesWith(valPairs) },
    skipped, notes, problems,
  };
}
