// The Detect view's state: a detection run's prediction on an image (every box above the lowest score the slider
// reaches) and the score the slider shows boxes from.
import type { DetectPredictResult } from '../../../src/protocol/contract.ts';
import { RunPrediction } from './run-prediction.svelte.ts';

/** The lowest score the slider reaches: the studio is asked once for every box above it, the slider filters. */
export const DETECT_FLOOR = 0.05;

class Detect extends RunPrediction<DetectPredictResult> {
  /** Boxes scoring at least this are shown. */
  threshold = $state(0.3);

  constructor() {
    super('detection', 'Could not detect objects in');
  }

  protected extra() {
    return { scoreThreshold: DETECT_FLOOR };
  }
}

export const detect = new Detect();
