// The Segment view's state: a segmentation run's prediction on an image (the class map at the image's own size,
// each class's share and colour) and, when the image's ground-truth mask was dropped too, it and the scores. An
// image of the run's validation set (one of its evaluation's worst) comes by path, with its mask.
import type { ImageInput, SegmentEvalResult, SegmentPredictResult } from '../../../src/protocol/contract.ts';
import { baseName } from '../lib/format.ts';
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

  /** One of the run's validation images, with its mask (an evaluation's worst images): its picture is the thumbnail. */
  openValidationImage(runId: string, image: SegmentEvalResult['worstImages'][number]): void {
    this.runId = runId;
    this.image = { path: image.file };
    this.imageName = baseName(image.file);
    this.preview = image.thumbnail;
    this.result = null;
    this.mask = { path: image.mask };
    this.maskName = baseName(image.mask);
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
