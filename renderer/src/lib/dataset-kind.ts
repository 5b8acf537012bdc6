// What the Dataset view says about the kind of folder opened: the task it trains, what its per-class counts count
// (images, images holding the class, or boxes) and how its folder is laid out. Pure: no Svelte, no DOM.
import type { ScanSummary, TaskName } from '../../../src/protocol/contract.ts';

export interface DatasetKind {
  task: TaskName;
  /** One line: "Segmentation dataset: images and masks, a class per pixel". */
  summary: string;
  /** The per-class chart's title and the unit of its bars. */
  countsTitle: string;
  unit: string;
}

export function datasetKind(scan: ScanSummary): DatasetKind {
  const task = scan.task ?? 'classification';
  if (task === 'segmentation') {
    return {
      task, summary: 'Segmentation dataset: images with masks (PASCAL VOC, or images/ + masks/), a class per pixel; trains DeepLabv3',
      countsTitle: 'Images holding each class', unit: 'images',
    };
  }
  if (task === 'detection') {
    return {
      task, summary: 'Detection dataset: images with boxes (YOLO, or COCO JSON), each box a class; trains SSDLite',
      countsTitle: 'Boxes per class', unit: 'boxes',
    };
  }
  return { task, summary: 'Classification dataset: one folder of images per class', countsTitle: 'Images per class', unit: 'images' };
}

/** A segmentation scan's classes by their share of the labelled training pixels, largest first; null for other kinds. */
export function pixelShares(scan: ScanSummary): { name: string; share: number }[] | null {
  if (!scan.classes.some((c) => c.pixelShare != null)) return null;
  return scan.classes.map((c) => ({ name: c.name, share: c.pixelShare ?? 0 })).sort((a, b) => b.share - a.share);
}
