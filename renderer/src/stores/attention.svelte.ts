// The Attention view's state: the model and image under inspection, the query selectors, and the last
// answers (attention map and effective receptive fields).
import type {
  AttentionResult,
  ImageInput,
  ModelRef,
  NetworkName,
  ReceptiveFieldResult,
} from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { baseName } from '../lib/format.ts';
import { studio } from './studio.svelte.ts';

export type Cell = [number, number];

/** Where the image came from when another view sent it here: an evaluation's mistake. */
export interface ImageContext {
  trueClass: string;
  predictedClass: string;
  confidence: number;
}

class Attention {
  source = $state<'run' | 'variant'>('run');
  runId = $state<string | null>(null);
  variant = $state<NetworkName>('mobilevit_xxs');
  weights = $state('');
  imageSize = $state(256);

  image = $state.raw<ImageInput | null>(null);
  imageName = $state('');
  /** What to show before the first answer: the dropped file itself. */
  preview = $state<string | null>(null);
  /** Set when Evaluate opened a misclassified image here; cleared by the next image. */
  context = $state.raw<ImageContext | null>(null);
  /** How strongly the heatmap covers the image: 0 shows the image alone, 1 the full overlay. */
  opacity = $state(1);

  block = $state(0);
  layer = $state<number | 'rollout'>('rollout');
  head = $state<number | 'mean'>('mean');
  pixel = $state<Cell | 'mean'>('mean');
  patch = $state<Cell | null>(null);

  result = $state.raw<AttentionResult | null>(null);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);

  erf = $state.raw<ReceptiveFieldResult | null>(null);
  erfLoading = $state(false);
  erfProblem = $state.raw<Problem | null>(null);
  private seq = 0;

  model(): ModelRef | null {
    if (this.source === 'run') return this.runId ? { runId: this.runId, checkpoint: 'best' } : null;
    return { variant: this.variant, ...(this.weights.trim() ? { weights: this.weights.trim() } : {}) };
  }

  /** Opens a validation image Evaluate got wrong, on the run's checkpoint at the size it trained at. */
  openMistake(run: { id: string; imageSize: number }, file: string, thumbnail: string, context: ImageContext): void {
    this.source = 'run';
    this.runId = run.id;
    this.imageSize = run.imageSize;
    this.block = 0;
    this.setImage({ path: file }, baseName(file), thumbnail, context);
  }

  setImage(image: ImageInput, name: string, preview: string | null, context: ImageContext | null = null): void {
    this.context = context;
    this.image = image;
    this.imageName = name;
    this.preview = preview;
    this.result = null;
    this.erf = null;
    this.patch = null;
    void this.query();
  }

  /** Selecting another block keeps the clicked place on the image: the patch is rescaled to the new grid. */
  selectBlock(b: number): void {
    const blocks = this.result?.blocks;
    const from = blocks?.[this.block]?.grid;
    const to = blocks?.[b]?.grid;
    if (this.patch && from && to) {
      const scale = (v: number, n: number, m: number) => Math.min(m - 1, Math.max(0, Math.floor(((v + 0.5) / n) * m)));
      this.patch = [scale(this.patch[0], from[0], to[0]), scale(this.patch[1], from[1], to[1])];
    }
    const info = blocks?.[b];
    this.block = b;
    if (info && typeof this.layer === 'number' && this.layer >= info.layers) this.layer = 'rollout';
    if (info && typeof this.head === 'number' && this.head >= info.heads) this.head = 'mean';
    void this.query();
  }

  /** The grid of the selected block: known from the last answer, else a safe estimate (stride 16 × 2^block). */
  grid(): Cell {
    const g = this.result?.blocks[this.block]?.grid;
    if (g) return g;
    const n = Math.max(1, Math.floor(this.imageSize / (16 * 2 ** this.block)));
    return [n, n];
  }

  async query(): Promise<void> {
    const model = this.model();
    if (!model || !this.image) return;
    const [rows, cols] = this.grid();
    const patch: Cell = this.patch ?? [Math.floor(rows / 2), Math.floor(cols / 2)];
    this.patch = patch;
    const seq = ++this.seq;
    this.loading = true;
    this.problem = null;
    try {
      const r = await studio.request('inspect.attention', {
        model,
        image: this.image,
        imageSize: this.imageSize,
        block: this.block,
        layer: this.layer,
        head: this.head,
        patch,
        pixel: this.pixel,
      });
      if (seq === this.seq) this.result = r; // a newer click supersedes this answer
    } catch (e) {
      if (seq === this.seq) this.problem = toProblem(e, `Could not compute the attention map of ${this.imageName}`);
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }

  async receptiveField(): Promise<void> {
    const model = this.model();
    if (!model) return;
    this.erfLoading = true;
    this.erfProblem = null;
    try {
      this.erf = await studio.request('inspect.receptiveField', {
        model,
        ...(this.image ? { image: this.image } : {}),
        imageSize: Math.min(this.imageSize, 256),
      });
    } catch (e) {
      this.erfProblem = toProblem(e, 'Could not compute the receptive fields');
    } finally {
      this.erfLoading = false;
      studio.clearProgress('inspect.receptiveField');
    }
  }
}

export const attention = new Attention();
