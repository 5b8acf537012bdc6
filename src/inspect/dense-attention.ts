// The prediction a segmentation or detection network made in the same forward pass as the attention it is shown
// beside: its class map at the size of the image the model saw, or its boxes in that image's pixels, and the
// picture of either drawn over that image (dense-draw.ts, the colours `predict` draws in).
import { fromRgb, type RgbImage as ByteImage } from '../data/decode.ts';
import type { IndexMask } from '../data/mask-png.ts';
import { drawBoxes, overlayClasses } from './dense-draw.ts';
import { classMapOf, classShares, detectionsOf, namedDetections, type DenseOutput, type Detection } from './dense-predict.ts';
import type { RgbImage } from './overlay.ts';

export type DensePrediction =
  | { task: 'segmentation'; map: IndexMask; classes: ReturnType<typeof classShares> }
  | { task: 'detection'; scoreThreshold: number; found: Detection[]; detections: ReturnType<typeof namedDetections> };

/** A label per output: the given ones, else `class i`. */
const labelsFor = (labels: readonly string[] | null, classes: number) => labels ?? Array.from({ length: classes }, (_, i) => `class ${i}`);

/** The first image's prediction at `image`'s size (the input the model saw); boxes above `scoreThreshold`. */
export function densePrediction(out: DenseOutput, image: RgbImage, labels: readonly string[] | null, scoreThreshold: number): DensePrediction {
  if (out.task === 'segmentation') {
    const map = classMapOf(out, image.height, image.width);
    return { task: 'segmentation', map, classes: classShares(map, labelsFor(labels, out.shape[3])) };
  }
  const found = detectionsOf(out, image.width, image.height, scoreThreshold);
  return { task: 'detection', scoreThreshold, found, detections: namedDetections(found, labelsFor(labels, out.numClasses)) };
}

/** The prediction drawn over `image`: the class map blended in (background left as it is), or the boxes outlined. */
export function densePicture(p: DensePrediction, image: RgbImage): Promise<Buffer> {
  const bytes: ByteImage = { width: image.width, height: image.height, data: Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)) };
  return fromRgb(p.task === 'segmentation' ? overlayClasses(bytes, p.map) : drawBoxes(bytes, p.found)).png().toBuffer();
}
