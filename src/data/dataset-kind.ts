// What kind of dataset a folder is, from its layout alone (no file is decoded): the task it trains. Segmentation
// (images/ + masks/, PASCAL VOC) and detection (YOLO's images/ + labels/, COCO's annotation files) have folders
// of their own names; anything else is read as a folder of class folders.
import type { TaskName } from '../protocol/contract.ts';
import { isDetectionFolder } from './detection-scan.ts';
import { isSegmentationFolder } from './segmentation-scan.ts';

export function datasetTask(root: string): TaskName {
  if (isSegmentationFolder(root)) return 'segmentation';
  if (isDetectionFolder(root)) return 'detection';
  return 'classification';
}
