// The Detect view's state: a detection run's prediction on an image (every box above the lowest score the slider
// reaches, and the image's ground-truth boxes when it is one of the run's dataset's) and the score the slider shows
// boxes from. The run's evaluation is the window's one (evaluation.svelte.ts).
import type { DetectEvalResult, DetectPredictResult } from '../../../src/protocol/contract.ts';
import { baseName } from '../lib/format.ts';
import { RunPrediction } from './run-prediction.svelte.ts';

/** The lowest score the slider reaches: the studio is asked once for every box above it, the slider filters. */
export const DETECT_FLOOR = 0.05;

class Detect extends RunPrediction<DetectPredictResult> {
  /** Boxes scoring at least this are shown. */
  threshold = $state(0.3);
  /** Whether the image's ground-truth boxes are drawn (when it has them). */
  showTruth = $state(true);

  constructor() {
    super('detection', 'Could not detect objects in');
  }

  protected extra() {
    return { scoreThreshold: DETECT_FLOOR };
  }

  /**
   * One of the run's validation images (an evaluation's most missed), by path so its ground truth comes with it; its
   * picture is the evaluation's. The slider goes to the score the evaluation counted misses at, so that the boxes
   * drawn are the ones its counts are of.
   */
  openValidationImage(evaluation: DetectEvalResult, image: DetectEvalResult['mostMissed'][number]): void {
    this.runId = evaluation.runId;
    this.threshold = evaluation.missScore;
    this.setImage({ path: image.file }, baseName(image.file), image.thumbnail);
  }
}

export const detect = new Detect();
