// Dataset scan: finds the classes and images of a folder, checks that every image decodes, splits off a
// validation set when the folder has none, and reports what it found as plain JSON-able data.
//
// Layouts:
//   root/<class>/<images…>                   flat: validation is a seeded stratified split
//   root/train/<class>/… + root/val/<class>/… split: `val` may also be named `valid`, `validation` or `test`
// Images may sit in sub-folders of a class folder. Class indices follow the sorted class names, as
// torchvision's ImageFolder does, so labels match a PyTorch run on the same folder.
// The walk stays inside the folder: a symbolic link to a folder elsewhere (/proc/<pid>/root is one to `/`) is
// reported as skipped, not followed, and a folder with more entries than any dataset has stops the scan.
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_VAL_FRACTION, type ScanSummary } from '../protocol/contract.ts';
import { DEFAULT_CONCURRENCY, forEachLimit } from './concurrency.ts';
import { DATASET_LAYOUTS, datasetTask } from './dataset-kind.ts';
import { ImageReadError, UNDESCRIBED, describeDecodeError, openRgb, orientedSize } from './decode.ts';
import { splitClass } from './split.ts';

/** Extensions treated as images. Those sharp cannot read (BMP, HEIC without HEVC, …) end up in `skipped` with
 *  the reason rather than being silently ignored, so the user learns why they were not used. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp', '.jp2', '.jxl',
]);

const VAL_FOLDER_NAMES = ['val', 'valid', 'validation', 'test'];

/** Files and folders listed before a scan gives up: ImageNet-1k, the largest dataset the studio trains on, has
 *  about 1.33 million. */
export const MAX_SCAN_ENTRIES = 3_000_000;

export interface ImageEntry {
  /** Absolute path. */
  path: string;
  label: number;
  /** Size as displayed (after EXIF orientation). */
  width: number;
  height: number;
  format: string;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface ClassCount {
  name: string;
  train: number;
  val: number;
}

export interface SizeStats {
  min: number;
  max: number;
  median: number;
}

export interface DatasetScan {
  root: string;
  layout: 'flat' | 'split';
  /** How validation was made when it was not given as a folder; null for the split layout. */
  split: { valFraction: number; seed: number } | null;
  classes: string[];
  counts: ClassCount[];
  train: ImageEntry[];
  val: ImageEntry[];
  /** Over every readable image; null when there is none. */
  imageSize: { width: SizeStats; height: SizeStats } | null;
  skipped: SkippedFile[];
  /** Hidden files and files that are not images. */
  ignored: number;
  /** Things worth knowing that do not stop training. */
  notes: string[];
  /** Things that stop training; each names the folder concerned. Empty when the dataset is usable. */
  problems: string[];
}

export interface ScanProgress {
  done: number;
  total: number;
  path: string;
}

export interface ScanOptions {
  /** Fraction of each class held out when there is no val folder (default 0.15). */
  valFraction?: number;
  seed?: number;
  /** 'decode' (default) decodes every image at a reduced size to catch truncated files; 'header' only reads headers. */
  verify?: 'decode' | 'header';
  concurrency?: number;
  onProgress?: (p: ScanProgress) => void;
  signal?: AbortSignal;
  /** Files and folders listed (images or not) before the scan stops with a DatasetError (default MAX_SCAN_ENTRIES). */
  maxEntries?: number;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

/** Throws a DatasetError listing every problem, each naming its folder; returns quietly for a usable dataset. */
export function assertTrainable(scan: DatasetScan): void {
  if (scan.problems.length > 0) throw new DatasetError(`dataset ${scan.root} cannot be used: ${scan.problems.join('; ')}`);
}

export async function scanDataset(rootArg: string, opts: ScanOptions = {}): Promise<DatasetScan> {
  const root = resolve(rootArg);
  const valFraction = opts.valFraction ?? DEFAULT_VAL_FRACTION;
  const seed = opts.seed ?? 0;
  if (!(valFraction >= 0 && valFraction <= 0.9)) throw new DatasetError(`valFraction must be between 0 and 0.9, got ${valFraction}`);
  const rootStat = await stat(root).catch(() => null);
  if (!rootStat) throw new DatasetError(`dataset folder not found: ${root}`);
  if (!rootStat.isDirectory()) throw new DatasetError(`dataset path is not a folder: ${root}`);

  const walk = new Walker({ root, rootReal: await realpath(root), maxEntries: opts.maxEntries ?? MAX_SCAN_ENTRIES, signal: opts.signal });
  const top = await walk.list(root);
  const notes: string[] = [];
  const problems: string[] = [];

  const trainDir = top.dirs.find((d) => d.name.toLowerCase() === 'train');
  const others = top.dirs.filter((d) => d !== trainDir);
  const isSplit = trainDir !== undefined && others.every((d) => VAL_FOLDER_NAMES.includes(d.name.toLowerCase()));
  let valDir: Dir | undefined;
  if (trainDir && isSplit) {
    valDir = VAL_FOLDER_NAMES.map((n) => others.find((d) => d.name.toLowerCase() === n)).find((d) => d !== undefined);
    for (const d of others) if (d !== valDir) notes.push(`folder ${d.path} was not used (validation comes from ${valDir!.path})`);
  }
  const classRoot = isSplit ? trainDir! : { name: '', path: root };
  const looseImages = (listing: { images: string[] }, dir: string): void => {
    if (listing.images.length === 0) return;
    notes.push(`${listing.images.length} image(s) directly in ${dir} were ignored: images must be inside a class folder`);
    walk.ignored += listing.images.length;
  };
  looseImages(top, root);
  const trainListing = isSplit ? await walk.list(classRoot.path) : top;
  if (isSplit) looseImages(trainListing, classRoot.path);

  const classes = trainListing.dirs.map((d) => d.name).sort();
  const trainFiles = new Map<string, string[]>();
  for (const d of trainListing.dirs) trainFiles.set(d.name, await walk.files(d.path));
  const valFiles = new Map<string, string[]>();
  if (valDir) {
    const valListing = await walk.list(valDir.path);
    looseImages(valListing, valDir.path);
    for (const d of valListing.dirs) {
      if (!trainFiles.has(d.name)) problems.push(`validation class folder ${d.path} has no matching folder in ${classRoot.path}`);
      else valFiles.set(d.name, await walk.files(d.path));
    }
  }

  const all = [...trainFiles.values(), ...valFiles.values()].flat();
  const checked = await checkImages(all, opts);
  const skipped: SkippedFile[] = [...walk.skipped];
  const readable = (files: string[] | undefined): ImageEntry[] => {
    const out: ImageEntry[] = [];
    for (const f of files ?? []) {
      const r = checked.get(f)!;
      if ('reason' in r) skipped.push({ path: f, reason: r.reason });
      else out.push({ path: f, label: -1, ...r });
    }
    return out;
  };

  const train: ImageEntry[] = [];
  const val: ImageEntry[] = [];
  const counts: ClassCount[] = [];
  classes.forEach((name, label) => {
    let t = readable(trainFiles.get(name));
    let v = readable(valFiles.get(name));
    const folder = join(classRoot.path, name);
    if (t.length === 0) problems.push(`class folder ${folder} has no readable image`);
    if (!valDir) ({ train: t, val: v } = splitClass(t, name, valFraction, seed));
    else if (v.length === 0 && t.length > 0) notes.push(`class ${name} has no validation images in ${valDir.path}`);
    for (const e of t) train.push({ ...e, label });
    for (const e of v) val.push({ ...e, label });
    counts.push({ name, train: t.length, val: v.length });
  });

  const layoutHint = `expected ${root}/<class>/<image> or ${root}/train/<class>/<image>`;
  if (classes.length === 0) problems.unshift(`no class folders in ${classRoot.path} (${layoutHint})`);
  else if (classes.length < 2) problems.unshift(`need at least two class folders, found only ${join(classRoot.path, classes[0])}`);
  if (classes.length > 0 && train.length === 0) problems.unshift(`no readable images in ${classRoot.path} (${layoutHint})`);
  if (!valDir && valFraction === 0) notes.push('no validation set: valFraction is 0');
  // Its folder names say it is another task's dataset: its 'classes' would be images/ and masks/ (or labels/).
  const kind = datasetTask(root);
  if (kind !== 'classification') problems.unshift(`${root} is a ${kind} dataset, not class folders: train it with the task ${kind} (${DATASET_LAYOUTS})`);

  const everything = [...train, ...val];
  return {
    root,
    layout: isSplit ? 'split' : 'flat',
    split: valDir ? null : { valFraction, seed },
    classes,
    counts,
    train,
    val,
    imageSize: everything.length === 0 ? null : { width: sizeStats(everything.map((e) => e.width)), height: sizeStats(everything.map((e) => e.height)) },
    skipped: skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    ignored: walk.ignored,
    notes,
    problems,
  };
}

/** The scan without its per-image lists: what a run's record and the UI's summary hold. */
export function toScanSummary(scan: DatasetScan): ScanSummary {
  return {
    root: scan.root,
    layout: scan.layout,
    split: scan.split,
    classes: scan.counts.map((c) => ({ name: c.name, train: c.train, val: c.val, total: c.train + c.val })),
    totalImages: scan.train.length + scan.val.length,
    trainCount: scan.train.length,
    valCount: scan.val.length,
    imageSize: scan.imageSize,
    skipped: scan.skipped,
    ignored: scan.ignored,
    notes: scan.notes,
    problems: scan.problems,
  };
}

interface Dir {
  name: string;
  path: string;
}

function isHidden(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX';
}

/** Whether `path` is `root` or inside it (both real paths). */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Lists folders, following symbolic links once each, but only to folders inside the dataset; counts ignored
 * files and what it listed, and records unreadable entries and links it did not follow.
 */
class Walker {
  ignored = 0;
  skipped: SkippedFile[] = [];
  private seen = new Set<string>();
  private listed = 0;

  /** `root` as the user named it (for messages) and its real path (what links must stay inside). */
  constructor(private readonly opts: { root: string; rootReal: string; maxEntries: number; signal?: AbortSignal }) {}

  /** The visible sub-folders and image files directly in `dir`. */
  async list(dir: string): Promise<{ dirs: Dir[]; images: string[] }> {
    const dirs: Dir[] = [];
    const images: string[] = [];
    this.opts.signal?.throwIfAborted();
    const real = await realpath(dir).catch(() => dir);
    if (this.seen.has(real)) return { dirs, images }; // a link back up the tree
    this.seen.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      this.skipped.push({ path: dir, reason: `folder cannot be listed (${(e as Error).message})` });
      return { dirs, images };
    }
    this.listed += entries.length;
    if (this.listed > this.opts.maxEntries) {
      throw new DatasetError(`the scan of ${this.opts.root} stopped after ${this.opts.maxEntries.toLocaleString('en-US')} files and folders, more than any dataset holds: choose the dataset's own folder`);
    }
    for (const ent of entries) {
      const path = join(dir, ent.name);
      if (isHidden(ent.name)) {
        this.ignored++;
        continue;
      }
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        const target = await stat(path).catch(() => null);
        if (!target) {
          if (IMAGE_EXTENSIONS.has(extname(ent.name).toLowerCase())) this.skipped.push({ path, reason: 'broken symbolic link' });
          else this.ignored++;
          continue;
        }
        isDir = target.isDirectory();
        isFile = target.isFile();
        if (isDir) {
          const real = await realpath(path).catch(() => null);
          if (real === null || !isInside(this.opts.rootReal, real)) {
            this.skipped.push({ path, reason: `symbolic link to a folder outside the dataset${real ? ` (${real})` : ''}: not followed` });
            continue;
          }
        }
      }
      if (isDir) dirs.push({ name: ent.name, path });
      else if (isFile && IMAGE_EXTENSIONS.has(extname(ent.name).toLowerCase())) images.push(path);
      else this.ignored++;
    }
    dirs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { dirs, images };
  }

  /** Every image file under `dir`, at any depth, sorted by path relative to `dir`. */
  async files(dir: string): Promise<string[]> {
    const out: string[] = [];
    const visit = async (d: string): Promise<void> => {
      const { dirs, images } = await this.list(d);
      out.push(...images);
      for (const sub of dirs) await visit(sub.path);
    };
    await visit(dir);
    const rel = new Map(out.map((p) => [p, relative(dir, p)]));
    return out.sort((a, b) => (rel.get(a)! < rel.get(b)! ? -1 : rel.get(a)! > rel.get(b)! ? 1 : 0));
  }
}

type CheckResult = { width: number; height: number; format: string } | { reason: string };

async function checkImages(files: string[], opts: ScanOptions): Promise<Map<string, CheckResult>> {
  const results = new Map<string, CheckResult>();
  let done = 0;
  await forEachLimit(
    files,
    opts.concurrency ?? DEFAULT_CONCURRENCY,
    async (file) => {
      results.set(file, await checkImage(file, opts.verify ?? 'decode'));
      opts.onProgress?.({ done: ++done, total: files.length, path: file });
    },
    opts.signal,
  );
  // A failure whose message was lost to a concurrent one (see UNDESCRIBED) is checked again, alone.
  for (const [file, r] of results) {
    if ('reason' in r && r.reason === UNDESCRIBED) results.set(file, await checkImage(file, opts.verify ?? 'decode'));
  }
  return results;
}

/** Header first (cheap: size, format); then, unless told otherwise, a decode at a reduced size, which JPEG and
 *  WebP do by skipping detail during decoding, yet still reads the whole file and so catches truncation. */
async function checkImage(file: string, verify: 'decode' | 'header'): Promise<CheckResult> {
  try {
    const st = await stat(file);
    if (st.size === 0) return { reason: 'empty file (0 bytes)' };
    const size = await orientedSize(file);
    if (verify === 'decode') {
      await openRgb(file).resize(32, 32, { fit: 'inside', kernel: sharp.kernel.nearest }).raw().toBuffer();
    }
    return size;
  } catch (e) {
    return { reason: e instanceof ImageReadError ? e.reason : describeDecodeError(e) };
  }
}

function sizeStats(values: number[]): SizeStats {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0], max: s[s.length - 1], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2 };
}
