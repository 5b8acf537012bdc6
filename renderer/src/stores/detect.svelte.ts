// The Detect view's state: a detection run's prediction on an image (every box above the lowest score the slider
// reaches, and the image's ground-truth boxes when it is one of the run's dataset's), the score the slider shows
// boxes from, and the run's checkpoint evaluated in the window (eval.run: curves and the images with the most misses).
import type { DetectEvalResult, DetectPredictResult } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { baseName } from '../lib/format.ts';
import { RunPrediction } from './run-prediction.svelte.ts';
import { studio } from './studio.svelte.ts';

/** The lowest score the slider reaches: the studio is asked once for every box above it, the slider filters. */
export const DETECT_FLOOR = 0.05;

class Detect extends RunPrediction<DetectPredictResult> {
  /** Boxes scoring at least this are shown. */
  threshold = $state(0.3);
  /** Whether the image's ground-truth boxes are drawn (when it has them). */
  showTruth = $state(true);

  evaluated = $state.raw<DetectEvalResult | null>(null);
  evaluating = $state(false);
  evalProblem = $state.raw<Problem | null>(null);

  constructor() {
    super('detection', 'Could not detect objects in');
  }

  protected extra() {
    return { scoreThreshold: DETECT_FLOOR };
  }

  /** Evaluates the run's best checkpoint on its validation images. */
  async evaluate(): Promise<void> {
    const runId = this.runId;
    if (!runId) return;
    this.evaluating = true;
    this.evalProblem = null;
    try {
      const r = await studio.request('eval.run', { runId, checkpoint: 'best', maxMisclassified: 0 });
      if (r.task !== 'detection') throw new Error(`run ${runId} is a ${r.task} run, not a detection run`);
      this.evaluated = r;
      // The slider starts where the misses were counted, so an opened image shows what they count.
      this.threshold = r.missScore;
    } catch (e) {
      this.evalProblem = toProblem(e, 'Could not evaluate the run');
    } finally {
      this.evaluating = false;
      studio.clearProgress('eval.run');
    }
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
