// The Segment view's state: the segmentation run, image and (optionally) its ground-truth mask under inspection,
// and its last prediction (the class map at the image's own size, each class's share and colour; with a mask, it
// too and the prediction's scores).
import type { ImageInput, SegmentPredictResult } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

class Segment {
  runId = $state<string | null>(null);
  image = $state.raw<ImageInput | null>(null);
  imageName = $state('');
  /** The image as dropped or picked: shown beside the prediction and under its overlay. */
  preview = $state<string | null>(null);
  /** The image's ground-truth mask, when one was dropped: shown beside the prediction and scored against it. */
  mask = $state.raw<ImageInput | null>(null);
  maskName = $state('');
  /** How strongly the class map covers the image: 0 the image alone, 1 the classes' colours alone. */
  opacity = $state(0.6);

  result = $state.raw<SegmentPredictResult | null>(null);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);
  private seq = 0;

  setImage(image: ImageInput, name: string, preview: string): void {
    this.image = image;
    this.imageName = name;
    this.preview = preview;
    this.mask = null;
    this.maskName = '';
    this.result = null;
    void this.query();
  }

  setMask(mask: ImageInput, name: string): void {
    this.mask = mask;
    this.maskName = name;
    void this.query();
  }

  async query(): Promise<void> {
    if (!this.runId || !this.image) return;
    const seq = ++this.seq;
    this.loading = true;
    this.problem = null;
    try {
      const r = await studio.request('inspect.predict', {
        model: { runId: this.runId, checkpoint: 'best' }, image: this.image, ...(this.mask ? { mask: this.mask } : {}),
      });
      if (seq !== this.seq) return; // another run or image was chosen meanwhile
      if (r.task !== 'segmentation') throw new Error(`run ${this.runId} is a ${r.task} run, not a segmentation run`);
      this.result = r;
    } catch (e) {
      if (seq === this.seq) this.problem = toProblem(e, `Could not segment ${this.imageName}`);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}

export const segment = new Segment();
