// What the Segment and Detect views share: a run of their task, an image dropped on the view, and the run's last
// prediction on it, asked of the studio with inspect.predict (a newer question supersedes an older answer).
import type { ImageInput, PredictResult } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

type DensePrediction = Exclude<PredictResult, { task: 'classification' }>;

export class RunPrediction<T extends DensePrediction> {
  runId = $state<string | null>(null);
  image = $state.raw<ImageInput | null>(null);
  imageName = $state('');
  /** The image as dropped or picked: shown under the prediction. */
  preview = $state<string | null>(null);

  result = $state.raw<T | null>(null);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);
  private seq = 0;

  /** `failed` starts the problem's title: "Could not segment", then the image's name. */
  constructor(private readonly task: T['task'], private readonly failed: string) {}

  setImage(image: ImageInput, name: string, preview: string): void {
    this.image = image;
    this.imageName = name;
    this.preview = preview;
    this.result = null;
    this.imageChanged();
    void this.query();
  }

  /** What a view forgets when the image changes. */
  protected imageChanged(): void {}

  /** The request's fields besides the model and the image. */
  protected extra(): { mask?: ImageInput; scoreThreshold?: number } {
    return {};
  }

  async query(): Promise<void> {
    if (!this.runId || !this.image) return;
    const seq = ++this.seq;
    this.loading = true;
    this.problem = null;
    try {
      const r = await studio.request('inspect.predict', { model: { runId: this.runId, checkpoint: 'best' }, image: this.image, ...this.extra() });
      if (seq !== this.seq) return; // another run or image was chosen meanwhile
      if (r.task !== this.task) throw new Error(`run ${this.runId} is a ${r.task} run, not a ${this.task} run`);
      this.result = r as T;
    } catch (e) {
      if (seq === this.seq) this.problem = toProblem(e, `${this.failed} ${this.imageName}`);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }
}
