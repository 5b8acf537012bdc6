// The summary a segmentation or detection scan gives a run's record and the window (the contract's ScanSummary,
// as the classification scan's toScanSummary gives it): per class, the images that hold it (segmentation, with its
// share of the labelled training pixels) or its boxes (detection), and the image sizes. summarizeFolder scans a
// folder as the kind its layout says it is, for the window's Dataset view and the service's check before a run.
import { median } from '../util/median.ts';
import type { ScanSummary, TaskName } from '../protocol/contract.ts';
import { datasetTask } from './dataset-kind.ts';
import { scanDetection, type DetectionScan } from './detection-scan.ts';
import { scanSegmentation, type SegmentationScan } from './segmentation-scan.ts';

/** Without spreading every image into one call: a folder can hold more images than a call takes arguments. */
function sizes(all: readonly { width: number; height: number }[]): ScanSummary['imageSize'] {
  if (!all.length) return null;
  const stats = (xs: number[]) => ({ min: xs.reduce((a, b) => Math.min(a, b)), max: xs.reduce((a, b) => Math.max(a, b)), median: median(xs) });
  return { width: stats(all.map((p) => p.width)), height: stats(all.map((p) => p.height)) };
}

export function segmentationSummary(scan: SegmentationScan): ScanSummary {
  const all = [...scan.train, ...scan.val];
  return {
    root: scan.root, task: 'segmentation', layout: scan.split ? 'flat' : 'split', split: scan.split,
    classes: scan.classes.map((name, c) => {
      const [train, val] = [scan.imagesWith.train[c], scan.imagesWith.val[c]];
      return { name, train, val, total: train + val, pixelShare: scan.pixelShare[c] };
    }),
    totalImages: all.length, trainCount: scan.train.length, valCount: scan.val.length, imageSize: sizes(all),
    skipped: scan.skipped, ignored: 0, notes: scan.notes, problems: scan.problems,
  };
}

export function detectionSummary(scan: DetectionScan): ScanSummary {
  const all = [...scan.train, ...scan.val];
  // Per class, its boxes (crowd regions left out) in each split.
  const boxes = (images: DetectionScan['train'], c: number) => images.reduce((n, img) => n + img.boxes.filter((b) => !b.crowd && b.label === c + 1).length, 0);
  return {
    root: scan.root, task: 'detection', layout: scan.split ? 'flat' : 'split', split: scan.split,
    classes: scan.classes.map((name, c) => {
      const [train, val] = [boxes(scan.train, c), boxes(scan.val, c)];
      return { name, train, val, total: train + val };
    }),
    totalImages: all.length, trainCount: scan.train.length, valCount: scan.val.length, imageSize: sizes(all),
    skipped: scan.skipped, ignored: 0, notes: scan.notes, problems: scan.problems,
  };
}

/**
 * A segmentation or detection folder's summary, read as `task` (by default the kind its layout says it is); null for
 * classification (the classification scan, data/scan.ts, reads class folders).
 */
export async function summarizeFolder(root: string, opts: { valFraction?: number; seed?: number } = {}, task: TaskName = datasetTask(root)): Promise<ScanSummary | null> {
  if (task === 'segmentation') return segmentationSummary(await scanSegmentation(root, opts));
  if (task === 'detection') return detectionSummary(await scanDetection(root, opts));
  return null;
}
