// A detection run's ground truth for the window: when predict is asked about an image of the run's dataset by its
// path (as the evaluation's list of the images with the most misses names them), the image's boxes as the dataset
// scan reads them, corners in the image's pixels. The last run's scan is kept, its evaluation's too (eval.run scans
// the dataset just before the window asks about its most-missed images): the Detect view asks about image after
// image of one run, and a scan reads every image's size. Another run, or an engine restart, scans afresh.
import { resolve } from 'node:path';
import type { DetectionImage, DetectionScan } from '../data/detection-scan.ts';
import type { ImageInput } from '../protocol/contract.ts';
import { readRun } from '../run/index.ts';
import { scanForDetection } from '../train/tasks/detection.ts';

export interface TruthBox {
  /** The class (1-based; 0 is the background) and its name. */
  index: number;
  label: string;
  /** x0, y0, x1, y1 in the image's pixels. */
  box: [number, number, number, number];
  /** A COCO crowd region: detections on it count neither way. */
  crowd: boolean;
}

type KeptImages = Promise<Map<string, DetectionImage> | null>;

let kept: { runDir: string; images: KeptImages } | null = null;

/** Keeps `scan` as the run's in `runDir`: its images by resolved path, null when the dataset does not scan. */
function keep(runDir: string, scan: Promise<DetectionScan>): KeptImages {
  const images = scan.then((s) => new Map([...s.train, ...s.val].map((img) => [resolve(img.image), img]))).catch(() => null);
  kept = { runDir, images };
  return images;
}

/** Scans the dataset of the run in `runDir` (its `settings`) and keeps the scan for truthBoxes. */
export function scanKeptForTruth(runDir: string, settings: Parameters<typeof scanForDetection>[0]): Promise<DetectionScan> {
  const scan = scanForDetection(settings);
  keep(runDir, scan);
  return scan;
}

/**
 * The boxes of `image` when it is one of the dataset's of the run in `runDir` (training or validation); undefined
 * for a dropped image, one outside the dataset, or a dataset that no longer scans (the prediction stands without).
 */
export async function truthBoxes(runDir: string, image: ImageInput, labels: readonly string[]): Promise<TruthBox[] | undefined> {
  if (!('path' in image)) return undefined;
  const images = kept?.runDir === runDir ? kept.images : keep(runDir, scanForDetection(readRun(runDir).settings));
  const found = (await images)?.get(resolve(image.path));
  return found?.boxes.map(({ box: [x, y, w, h], label, crowd }) => ({ index: label, label: labels[label] ?? `class ${label}`, box: [x, y, x + w, y + h], crowd }));
}
