// What kind of dataset a folder is, from its layout alone (no file is decoded): the task it trains. Segmentation
// (images/ + masks/, PASCAL VOC's JPEGImages/ + SegmentationClass/) and detection (YOLO's images/ + labels/,
// COCO's instances_*.json) have folders and files of their own names; anything else is read as class folders.
// The scans of each kind (scan.ts, segmentation-scan.ts, detection-scan.ts) read these rules from here.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskName } from '../protocol/contract.ts';

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** True where `root` holds a segmentation dataset in one of its two layouts. */
export function isSegmentationFolder(root: string): boolean {
  const dir = (...p: string[]) => isDir(join(root, ...p));
  return (dir('JPEGImages') && dir('SegmentationClass'))
    || (dir('images') && dir('masks'))
    || (dir('train', 'images') && dir('train', 'masks'));
}

/** The COCO annotation files of a folder by split name (instances_train2017.json → train2017). */
export function cocoFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of [join(root, 'annotations'), root]) {
    if (!isDir(dir)) continue;
    for (const f of readdirSync(dir)) {
      const m = f.match(/^instances_(.+)\.json$/);
      if (m && !out.has(m[1])) out.set(m[1], join(dir, f));
    }
  }
  return out;
}

/** True where `root` holds a YOLO or COCO detection dataset. */
export function isDetectionFolder(root: string): boolean {
  return (isDir(join(root, 'images')) && isDir(join(root, 'labels'))) || cocoFiles(root).size > 0;
}

export function datasetTask(root: string): TaskName {
  if (isSegmentationFolder(root)) return 'segmentation';
  if (isDetectionFolder(root)) return 'detection';
  return 'classification';
}

/** The layouts each task reads, for messages. */
export const DATASET_LAYOUTS = 'classification: root/<class>/<image>; segmentation: images/ + masks/ or PASCAL VOC; detection: YOLO or COCO';
