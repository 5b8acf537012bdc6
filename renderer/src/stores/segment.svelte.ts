// The Segment view's state: a segmentation run's prediction on an image (the class map at the image's own size,
// each class's share and colour) and, when the image's ground-truth mask was dropped too, it and the scores.
import type { ImageInput, SegmentPredictResult } from '../../../src/protocol/contract.ts';
import { RunPrediction } from './run-prediction.svelte.ts';

class Segment extends RunPrediction<SegmentPredictResult> {
  /** The image's ground-truth mask, when one was dropped: shown beside the prediction and scored against it. */
  mask = $state.raw<ImageInput | null>(null);
  maskName = $state('');
  /** How strongly the class map covers the image: 0 the image alone, 1 the classes' colours alone. */
  opacity = $state(0.6);

  constructor() {
    super('segmentation', 'Could not segment');
  }

  setMask(mask: ImageInput, name: string): void {
    this.mask = mask;
    this.maskName = name;
    void this.query();
  }

  protected imageChanged(): void {
    this.mask = null;
    this.maskName = '';
  }

  protected extra() {
    return this.mask ? { mask: this.mask } : {};
  }
}

export const segment = new Segment();
