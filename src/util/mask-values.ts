// The one value a segmentation mask reserves: shared by the dataset scan, the loss and the metrics.

/** The label of pixels that count for nothing (VOC's object borders, crop padding). */
export const IGNORE_INDEX = 255;
