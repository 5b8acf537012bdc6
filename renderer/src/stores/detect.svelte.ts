// The Detect view's state: the detection run and image under inspection, its last prediction (every box above the
// lowest score the slider reaches), and the score the slider shows boxes from.
import type { DetectPredictResult, ImageInput } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

/** The lowest score the slider reaches: the studio is asked once for every box above it, the slider filters. */
export const DETECT_FLOOR = 0.05;

class Detect {
  runId = $state<string | null>(null);
  image = $state.raw<ImageInput | null>(null);
  imageName = $state('');
  preview = $state<string | null>(null);
  /** Boxes scoring at least this are shown. */
  threshold = $state(0.3);

  result = $state.raw<DetectPredictResult | null>(null);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);
  private seq = 0;

  setImage(image: ImageInput, name: string, preview: string): void {
    this.image = image;
    this.imageName = name;
    this.preview = preview;
    this.result = null;
    void this.query();
  }

  async query(): Promise<void> {
    if (!this.runId || !this.image) return;
    const seq = ++this.seq;
    this.loading = true;
    this.problem = null;
    try {
      const r = await studio.request('inspect.predict', { model: { runId: this.runId, checkpoint: 'best' }, image: this.image, scoreThreshold: DETECT_FLOOR });
      if (seq !== this.seq) return; // another run or image was chosen meanwhile
      if (r.task !== 'detection') throw new Error(`run ${this.runId} is a ${r.task} run, not a detection run`);
      this.result = r;
    } catch (e) {
      if (seq === this.seq) this.problem = toProblem(e, `Could not detect objects in ${this.imageName}`);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}

export const detect = new Detect();
