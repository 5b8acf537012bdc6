import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanSummary } from '../../src/protocol/contract.ts';
import { DatasetError, assertTrainable, scanDataset, toScanSummary, type DatasetScan } from '../../src/data/scan.ts';
import { valCount } from '../../src/data/split.ts';
import { drawClassImage, encode, makeDataset } from '../helpers/dataset.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mvs-scan-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const byClass = (scan: DatasetScan, split: 'train' | 'val'): number[] =>
  scan.classes.map((_, label) => scan[split].filter((e) => e.label === label).length);

describe('flat layout', () => {
  let root: string;
  let scan: DatasetScan;
  let generated: Awaited<ReturnType<typeof makeDataset>>;
  beforeAll(async () => {
    root = join(tmp, 'flat');
    generated = await makeDataset(root, { classes: ['dog', 'cat', 'bird'], perClass: 20, size: 32, corrupt: true, format: 'mixed' });
    scan = await scanDataset(root, { seed: 5 });
  });

  it('finds the classes in sorted order with their images', () => {
    expect(scan.layout).toBe('flat');
    expect(scan.classes).toEqual(['bird', 'cat', 'dog']);
    expect(scan.problems).toEqual([]);
    expect(scan.train.length + scan.val.length).toBe(60);
    const expected = new Map(generated.files.map((f) => [f.path, f.label]));
    for (const e of [...scan.train, ...scan.val]) {
      expect(expected.get(e.path)).toBe(e.label);
      expect(basename(join(e.path, '..'))).toBe(scan.classes[e.label]);
    }
  });

  it('holds out a stratified 15% by default', () => {
    expect(scan.split).toEqual({ valFraction: 0.15, seed: 5 });
    expect(byClass(scan, 'val')).toEqual([3, 3, 3]);
    expect(byClass(scan, 'train')).toEqual([17, 17, 17]);
    expect(scan.counts).toEqual([
      { name: 'bird', train: 17, val: 3 },
      { name: 'cat', train: 17, val: 3 },
      { name: 'dog', train: 17, val: 3 },
    ]);
    const val = new Set(scan.val.map((e) => e.path));
    expect(scan.train.some((e) => val.has(e.path))).toBe(false);
  });

  it('skips corrupt, truncated, zero-byte and fake images with a reason, and ignores hidden and other files', () => {
    expect(scan.skipped.map((s) => s.path).sort()).toEqual([...generated.skipped].sort());
    const reason = (name: string): string => scan.skipped.find((s) => s.path.endsWith(name))!.reason;
    expect(reason('empty.png')).toMatch(/empty file \(0 bytes\)/);
    expect(reason('truncated.jpg')).toMatch(/truncated/);
    expect(reason('truncated.png')).toMatch(/truncated|corrupt/);
    expect(reason('not-really.jpg')).toMatch(/not an image/);
    expect(scan.ignored).toBe(generated.ignored.length);
    const used = new Set([...scan.train, ...scan.val].map((e) => e.path));
    for (const f of generated.ignored) expect(used.has(f)).toBe(false);
  });

  it('reports image size statistics and stays plain JSON', () => {
    expect(scan.imageSize).toEqual({ width: { min: 32, max: 32, median: 32 }, height: { min: 32, max: 32, median: 32 } });
    expect(JSON.parse(JSON.stringify(scan))).toEqual(scan);
    const summary = toScanSummary(scan);
    expect(summary).not.toHaveProperty('train');
    expect(ScanSummary.parse(summary)).toEqual(summary);
    expect(summary.trainCount).toBe(51);
    expect(summary.valCount).toBe(9);
  });

  it('reproduces the split from the seed, changes it with another seed, and honours the fraction', async () => {
    const again = await scanDataset(root, { seed: 5 });
    expect(again.val.map((e) => e.path)).toEqual(scan.val.map((e) => e.path));
    const other = await scanDataset(root, { seed: 6 });
    expect(other.val.map((e) => e.path)).not.toEqual(scan.val.map((e) => e.path));
    const third = await scanDataset(root, { valFraction: 0.3 });
    expect(byClass(third, 'val')).toEqual([6, 6, 6]);
    const none = await scanDataset(root, { valFraction: 0 });
    expect(none.val).toEqual([]);
    expect(none.notes.join(' ')).toMatch(/no validation set/);
  });

  it("only catches what headers show in 'header' mode", async () => {
    const quick = await scanDataset(root, { verify: 'header' });
    const reasons = new Map(quick.skipped.map((s) => [basename(s.path), s.reason]));
    expect(reasons.get('empty.png')).toMatch(/empty/);
    expect(reasons.get('not-really.jpg')).toMatch(/not an image/);
    // the first half of a JPEG still has a valid header: only decoding finds the missing half
    expect(reasons.has('truncated.jpg')).toBe(false);
  });

  it('reports progress up to the total', async () => {
    const seen: number[] = [];
    let total = 0;
    await scanDataset(root, { verify: 'header', onProgress: (p) => { seen.push(p.done); total = p.total; } });
    expect(total).toBe(60 + generated.skipped.length);
    expect(seen.at(-1)).toBe(total);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('rejects an out-of-range validation fraction', async () => {
    await expect(scanDataset(root, { valFraction: 1 })).rejects.toThrow(/valFraction/);
  });
});

describe('another task\'s dataset', () => {
  it('is not read as class folders: a folder of images and masks is named a segmentation dataset in its problems', async () => {
    const root = await mkdtemp(join(tmpdir(), 'scan-seg-'));
    await makeSegmentationDataset(root, { layout: 'images-masks', count: 4, classes: 3, size: 32 });
    const scan = await scanDataset(root);
    expect(scan.problems[0]).toMatch(/is a segmentation dataset, not class folders: train it with the task segmentation \(classification: root\/<class>\/<image>; segmentation: images\/ \+ masks\/ or PASCAL VOC/);
    expect(() => assertTrainable(scan)).toThrow(DatasetError);
    await rm(root, { recursive: true, force: true });
  });
});

describe('valCount', () => {
  it('keeps at least one image on each side of a class with two or more', () => {
    expect([1, 2, 3, 10, 20, 100].map((n) => valCount(n, 0.15))).toEqual([0, 1, 1, 2, 3, 15]);
    expect(valCount(50, 0)).toBe(0);
    expect(valCount(2, 0.9)).toBe(1);
  });
});

describe('split layout', () => {
  it('uses train/ and val/ folders as given', async () => {
    const root = join(tmp, 'split');
    const g = await makeDataset(root, { classes: 3, perClass: 6, valPerClass: 2, size: 32, layout: 'split' });
    const scan = await scanDataset(root);
    expect(scan.layout).toBe('split');
    expect(scan.split).toBeNull();
    expect(scan.counts.map((c) => [c.train, c.val])).toEqual([[6, 2], [6, 2], [6, 2]]);
    const valPaths = g.files.filter((f) => f.split === 'val').map((f) => f.path).sort();
    expect(scan.val.map((e) => e.path).sort()).toEqual(valPaths);
  });

  it('accepts valid/ or test/ as the validation folder', async () => {
    const root = join(tmp, 'split-test');
    await makeDataset(join(root, 'tmp'), { classes: 2, perClass: 3, size: 32, layout: 'split' });
    const { rename } = await import('node:fs/promises');
    await rename(join(root, 'tmp', 'train'), join(root, 'train'));
    await rename(join(root, 'tmp', 'val'), join(root, 'test'));
    await rm(join(root, 'tmp'), { recursive: true });
    const scan = await scanDataset(root);
    expect(scan.layout).toBe('split');
    expect(scan.val).toHaveLength(2);
  });

  it('names a validation class folder that has no training counterpart', async () => {
    const root = join(tmp, 'split-extra');
    await makeDataset(root, { classes: 2, perClass: 3, size: 32, layout: 'split' });
    await mkdir(join(root, 'val', 'zebra'));
    await writeFile(join(root, 'val', 'zebra', 'z.png'), await encode(drawClassImage(0, 2, 32, 1), 32, 32, 'png'));
    const scan = await scanDataset(root);
    expect(scan.problems.join('\n')).toContain(join(root, 'val', 'zebra'));
    expect(() => assertTrainable(scan)).toThrow(DatasetError);
  });
});

describe('paths', () => {
  it('handles unicode and spaces in folder and file names, and nested folders', async () => {
    const root = join(tmp, 'ünï cödé root');
    const g = await makeDataset(root, { classes: ['chat noir', 'café ☕', '猫 と 犬'], perClass: 4, size: 32 });
    const nested = join(root, 'chat noir', 'sous dossier é');
    await mkdir(nested);
    await writeFile(join(nested, 'photo été 1.png'), await encode(drawClassImage(0, 3, 32, 9), 32, 32, 'png'));
    const scan = await scanDataset(root, { valFraction: 0 });
    expect(scan.problems).toEqual([]);
    expect(scan.classes).toEqual([...g.classes]);
    expect(scan.train).toHaveLength(13);
    expect(scan.train.map((e) => e.path)).toContain(join(nested, 'photo été 1.png'));
  });

  it('follows symbolic links and reports broken ones', async () => {
    const root = join(tmp, 'links');
    await makeDataset(root, { classes: 2, perClass: 3, size: 32 });
    await symlink(join(root, 'class_0', 'img_000.png'), join(root, 'class_1', 'linked.png'));
    await symlink(join(root, 'nowhere.png'), join(root, 'class_1', 'broken.png'));
    await symlink(root, join(root, 'class_1', 'loop')); // a link back up must not recurse forever
    const scan = await scanDataset(root, { valFraction: 0 });
    expect(scan.counts.map((c) => c.train)).toEqual([3, 4]);
    expect(scan.skipped).toEqual([{ path: join(root, 'class_1', 'broken.png'), reason: 'broken symbolic link' }]);
  });

  it('does not follow a link to a folder outside the dataset, and says so', async () => {
    const root = join(tmp, 'links-out');
    await makeDataset(root, { classes: 2, perClass: 3, size: 32 });
    const elsewhere = join(tmp, 'elsewhere');
    await makeDataset(elsewhere, { classes: ['more'], perClass: 4, size: 32 });
    await symlink(join(elsewhere, 'more'), join(root, 'class_0', 'more'));
    await symlink(elsewhere, join(root, 'class_2'));
    const scan = await scanDataset(root, { valFraction: 0 });
    expect(scan.classes).toEqual(['class_0', 'class_1']);
    expect(scan.counts.map((c) => c.train)).toEqual([3, 3]);
    expect(scan.train.some((e) => e.path.startsWith(elsewhere))).toBe(false);
    expect(scan.skipped).toEqual([
      { path: join(root, 'class_0', 'more'), reason: `symbolic link to a folder outside the dataset (${join(elsewhere, 'more')}): not followed` },
      { path: join(root, 'class_2'), reason: `symbolic link to a folder outside the dataset (${elsewhere}): not followed` },
    ]);
  });

  it('stops a scan that lists more files and folders than the cap, naming the folder', async () => {
    const root = join(tmp, 'too-many');
    await makeDataset(root, { classes: 2, perClass: 6, size: 32 });
    await expect(scanDataset(root, { maxEntries: 10 })).rejects.toThrow(new DatasetError(`the scan of ${root} stopped after 10 files and folders, more than any dataset holds: choose the dataset's own folder`));
    const within = await scanDataset(root, { maxEntries: 14 }); // 2 class folders and 12 images: exactly the cap
    expect(within.train.length + within.val.length).toBe(12);
  });

  it('stops walking when cancelled, before it lists anything more', async () => {
    const root = join(tmp, 'cancelled');
    await makeDataset(root, { classes: 2, perClass: 2, size: 32 });
    const cancelled = new AbortController();
    cancelled.abort(new Error('scan cancelled'));
    // Listing even the top folder would pass a cap of 1, so the cancellation must come first.
    await expect(scanDataset(root, { maxEntries: 1, signal: cancelled.signal })).rejects.toThrow('scan cancelled');
  });
});

describe('datasets that cannot be trained on', () => {
  it('throws at once for a missing or non-folder root', async () => {
    await expect(scanDataset(join(tmp, 'does-not-exist'))).rejects.toThrow(/dataset folder not found: .*does-not-exist/);
    const file = join(tmp, 'a-file.txt');
    await writeFile(file, 'x');
    await expect(scanDataset(file)).rejects.toThrow(/not a folder/);
  });

  it('names the folder when it is empty', async () => {
    const root = join(tmp, 'empty');
    await mkdir(root);
    await writeFile(join(root, '.DS_Store'), 'x');
    const scan = await scanDataset(root);
    expect(scan.problems).toHaveLength(1);
    expect(scan.problems[0]).toContain(`no class folders in ${root}`);
    expect(() => assertTrainable(scan)).toThrow(new RegExp(`no class folders in ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });

  it('names the only class folder when there is one', async () => {
    const root = join(tmp, 'one-class');
    await makeDataset(root, { classes: ['only'], perClass: 3, size: 32 });
    const scan = await scanDataset(root);
    expect(scan.problems[0]).toContain(`need at least two class folders, found only ${join(root, 'only')}`);
  });

  it('names a class folder with no readable image, and notes images outside class folders', async () => {
    const root = join(tmp, 'bad-class');
    await makeDataset(root, { classes: 2, perClass: 3, size: 32 });
    await mkdir(join(root, 'broken'));
    await writeFile(join(root, 'broken', 'a.jpg'), Buffer.alloc(0));
    await writeFile(join(root, 'broken', 'b.png'), 'not a png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } }).png().toFile(join(root, 'stray.png'));
    const scan = await scanDataset(root);
    expect(scan.problems).toEqual([`class folder ${join(root, 'broken')} has no readable image`]);
    expect(scan.skipped).toHaveLength(2);
    expect(scan.notes.join('\n')).toContain(`1 image(s) directly in ${root} were ignored`);
    expect(() => assertTrainable(scan)).toThrow(join(root, 'broken'));
  });
});
