// The Train view kept in the workspace (views.get / views.set): its dataset folder, its form and the run it
// showed, so that a reloaded page or a second window opens on the same thing. At start-up a run still
// training (or paused) wins over the one kept; a kept run that was deleted since is not shown.
import { TrainViewState, type TrainViewState as State } from '../../../src/protocol/contract.ts';
import { dataset } from './dataset.svelte.ts';
import { studio } from './studio.svelte.ts';
import { training } from './training.svelte.ts';

/** Typing in the form saves once it pauses, not at every key. */
const SAVE_DELAY_MS = 300;

/** The view as views.set takes it, or null while the form does not validate (nothing half-typed is kept). */
function current(): State | null {
  const data = dataset.scan?.root ?? dataset.path;
  const { weights, ...rest } = training.form;
  const r = TrainViewState.safeParse({
    data: data.trim() ? data : null,
    settings: { ...rest, ...(weights.trim() ? { weights: weights.trim() } : {}) },
    runId: training.runId,
  });
  return r.success ? r.data : null;
}

class TrainView {
  /** Nothing is saved before the kept state is back: the defaults would overwrite it. */
  private restored = false;

  init(): void {
    void this.restore();
    $effect.root(() => {
      $effect(() => {
        const state = current(); // read here, so that every field it depends on is tracked
        if (!this.restored || !state) return;
        const timer = setTimeout(() => void studio.request('views.set', { train: state }).catch(() => {}), SAVE_DELAY_MS);
        return () => clearTimeout(timer);
      });
    });
  }

  private async restore(): Promise<void> {
    try {
      const [{ train }, { runs }] = await Promise.all([studio.request('views.get', {}), studio.request('runs.list', {})]);
      if (train) {
        const { weights, ...settings } = train.settings;
        Object.assign(training.form, { ...settings, augmentation: { ...settings.augmentation }, weights: weights ?? '' });
        if (train.data && !dataset.scan) void dataset.open(train.data);
      }
      const live = runs.find((r) => r.status === 'running' || r.status === 'paused');
      const kept = train?.runId ? runs.find((r) => r.id === train.runId) : undefined;
      const follow = live ?? kept;
      if (follow && !training.runId) await training.follow(follow.id);
    } catch {
      // Nothing kept can be read (no connection yet, an old studio): the view starts empty, as it did.
    } finally {
      this.restored = true;
    }
  }
}

export const trainView = new TrainView();
