// The contract's datasets domain: what a dataset scan reports and the thumbnails the window shows.
import { z } from 'zod';
import { TASKS } from '../model/registry/types.ts';
import { DisplayDataUrl } from './common.ts';

/** The share of each class held out for validation when a folder has no val/: the scans' default and the settings'. */
export const DEFAULT_VAL_FRACTION = 0.15;
export const ValFraction = z.number().min(0.01).max(0.9);

/** PASCAL VOC's 21 classes, the background first (a VOC folder's names, and the zoo's DeepLabv3 label set). */
export const VOC_CLASSES = [
  'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
  'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

export const SizeStats = z.object({ min: z.number(), max: z.number(), median: z.number() });

export const ScanSummary = z.object({
  root: z.string(),
  /** What kind of dataset the folder is (the task it trains); absent: classification (scans recorded before tasks). */
  task: z.enum(TASKS).optional(),
  /** 'split': root/train/<class> and root/val/<class>; 'flat': root/<class> with a seeded validation split. */
  layout: z.enum(['flat', 'split']),
  /** How validation was split off for the 'flat' layout; null for 'split'. */
  split: z.object({ valFraction: z.number(), seed: z.number().int() }).nullable(),
  /**
   * In class-index order (sorted names, as torchvision's ImageFolder). The counts are of images, for segmentation of
   * the images holding the class (pixelShare: its share of the labelled training pixels), for detection of boxes.
   */
  classes: z.array(z.object({ name: z.string(), train: z.number().int(), val: z.number().int(), total: z.number().int(), pixelShare: z.number().min(0).max(1).optional() })),
  totalImages: z.number().int(),
  trainCount: z.number().int(),
  valCount: z.number().int(),
  /** Image sizes as displayed (after EXIF orientation); null when no image could be read. */
  imageSize: z.object({ width: SizeStats, height: SizeStats }).nullable(),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  /** Hidden files and files that are not images. */
  ignored: z.number().int(),
  /** Worth knowing, does not stop training. */
  notes: z.array(z.string()),
  /** Stops training (empty dataset, < 2 classes, empty class), each naming the folder. Empty when usable. */
  problems: z.array(z.string()),
});
export type ScanSummary = z.infer<typeof ScanSummary>;

export const Thumbnail = z.object({
  class: z.string(),
  /** Path relative to the dataset root. */
  file: z.string(),
  dataUrl: DisplayDataUrl,
  width: z.number().int(),
  height: z.number().int(),
});
export type Thumbnail = z.infer<typeof Thumbnail>;
