// Segmentation metrics with the standard definitions (PASCAL VOC, mmsegmentation): a pixel confusion matrix
// accumulated over the whole validation set, ignore pixels excluded; IoU_c = TP / (TP + FP + FN) from those
// totals (not a mean of per-image IoUs); mIoU the mean over classes that occur in the labels or the
// predictions; pixel accuracy = Σ TP / labelled pixels; mean class accuracy over classes present in the labels.
// Plain arrays, no tensors: the evaluation reads each batch's argmax once and hands it here.
import { IGNORE_INDEX } from '../util/mask-values.ts';

export interface SegmentationScores {
  miou: number;
  pixelAccuracy: number;
  meanClassAccuracy: number;
  /** IoU per class in label order; null where the class is in neither the labels nor the predictions. */
  perClassIou: (number | null)[];
  /** Class accuracy (recall) per class; null where the class has no labelled pixel. */
  perClassAccuracy: (number | null)[];
  /** confusion[true][predicted] = pixels. */
  confusion: number[][];
  /** Labelled pixels counted. */
  pixels: number;
}

export class PixelConfusion {
  private readonly counts: Float64Array;

  constructor(readonly numClasses: number) {
    if (!Number.isSafeInteger(numClasses) || numClasses < 1) throw new RangeError(`PixelConfusion: classes must be a positive integer, got ${numClasses}`);
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /**
   * One image's (or batch's) predicted classes and labels, pixel for pixel. Pixels labelled IGNORE_INDEX are
   * skipped; a label or prediction outside [0, classes) is an error naming it (the dataset scan reports such masks).
   */
  add(predicted: ArrayLike<number>, labels: ArrayLike<number>): void {
    if (predicted.length !== labels.length) throw new Error(`PixelConfusion: ${predicted.length} predictions for ${labels.length} labels`);
    const n = this.numClasses;
    for (let i = 0; i < labels.length; i++) {
      const t = labels[i];
      if (t === IGNORE_INDEX) continue;
      const p = predicted[i];
      if (!(t >= 0 && t < n) || !(p >= 0 && p < n)) throw new RangeError(`PixelConfusion: pixel ${i} has label ${t} and prediction ${p}, outside 0..${n - 1}`);
      this.counts[t * n + p]++;
    }
  }

  scores(): SegmentationScores {
    const n = this.numClasses;
    const row = new Float64Array(n); // labelled pixels per class (TP + FN)
    const col = new Float64Array(n); // predicted pixels per class (TP + FP)
    let correct = 0;
    let pixels = 0;
    for (let t = 0; t < n; t++) {
      for (let p = 0; p < n; p++) {
        const c = this.counts[t * n + p];
        row[t] += c;
        col[p] += c;
        pixels += c;
      }
      correct += this.counts[t * n + t];
    }
    const perClassIou = Array.from({ length: n }, (_, c) => {
      const union = row[c] + col[c] - this.counts[c * n + c];
      return union > 0 ? this.counts[c * n + c] / union : null;
    });
    const perClassAccuracy = Array.from({ length: n }, (_, c) => (row[c] > 0 ? this.counts[c * n + c] / row[c] : null));
    const mean = (xs: (number | null)[]) => {
      const present = xs.filter((x): x is number => x !== null);
      return present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0;
    };
    return {
      miou: mean(perClassIou),
      pixelAccuracy: pixels > 0 ? correct / pixels : 0,
      meanClassAccuracy: mean(perClassAccuracy),
      perClassIou,
      perClassAccuracy,
      confusion: Array.from({ length: n }, (_, t) => Array.from(this.counts.subarray(t * n, (t + 1) * n))),
      pixels,
    };
  }
}

/** One image scored on its own: its mIoU over the classes in its labels or its prediction, and its pixel accuracy. */
export interface ImageScore {
  /** The image's index in the evaluated set. */
  index: number;
  miou: number;
  pixelAccuracy: number;
}

/**
 * Each image scored on its own, to find the images a network segments worst (the set's scores stay the
 * accumulated ones). An image whose pixels are all ignored has no score.
 */
export class ImageScores {
  private readonly scored: ImageScore[] = [];

  constructor(readonly numClasses: number) {}

  /** A batch's predictions and labels, `images.length` images of equal size one after another, as `confusion` takes them. */
  add(images: ArrayLike<number>, predicted: Int32Array, labels: Int32Array): void {
    const pixels = labels.length / images.length;
    if (!Number.isInteger(pixels)) throw new Error(`ImageScores: ${labels.length} labels do not split into ${images.length} images`);
    for (let j = 0; j < images.length; j++) {
      const one = new PixelConfusion(this.numClasses);
      one.add(predicted.subarray(j * pixels, (j + 1) * pixels), labels.subarray(j * pixels, (j + 1) * pixels));
      const s = one.scores();
      if (s.pixels > 0) this.scored.push({ index: images[j], miou: s.miou, pixelAccuracy: s.pixelAccuracy });
    }
  }

  /** The `k` lowest by mIoU, lowest first; ties in the set's order. */
  worst(k: number): ImageScore[] {
    return [...this.scored].sort((a, b) => a.miou - b.miou || a.index - b.index).slice(0, k);
  }
}
