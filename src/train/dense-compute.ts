// The compute of a dense-prediction run (segmentation): the network and its trainer in this process, on this
// process's TensorFlow.js backend. The device protocol (src/device/wire.ts) carries classifiers only so far, so
// a segmentation run trains here whatever device is chosen (the task refuses the page and worker devices).
import * as tf from '@tensorflow/tfjs';
import type { Weights } from '../device/wire.ts';
import type { TensorMap } from '../model/safetensors.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { stateDict } from '../model/weights.ts';
import type { Objective } from '../optim/objective.ts';
import { Trainer, type StepResult, type TrainerSettings } from '../optim/trainer.ts';
import { stepSeeds } from '../util/random.ts';
import type { StepInput, TrainerState } from './compute.ts';
import type { StepCompute } from './tasks/task.ts';

export class DenseCompute implements StepCompute {
  private readonly trainer: Trainer;

  /** Takes `model` over (disposed with the compute). */
  constructor(readonly model: SegmentationModel, settings: TrainerSettings, objective: Objective, state?: TrainerState & { source: string }) {
    this.trainer = new Trainer(model, settings, objective);
    if (state) this.trainer.importState(state.tensors, state.json, state.source);
  }

  get tfBackend(): string {
    return tf.getBackend();
  }

  async step(i: StepInput): Promise<StepResult> {
    const { x: data, size, indices } = i.batch;
    const x = tf.tensor4d(data, [indices.length, size, size, 3]);
    try {
      return await this.trainer.step(x, i.batch.labels, i.lr, (pass) => stepSeeds(i.seed, i.step, pass), i.frozenBackbone, i.imagesPerPass);
    } finally {
      x.dispose();
      i.batch.release();
    }
  }

  /** Runs `fn` with the live or the EMA-averaged weights in place. */
  withWeights<T>(which: Weights, fn: () => Promise<T>): Promise<T> {
    if (which === 'live') return fn();
    if (!this.trainer.ema) throw new Error('the run has no averaged (EMA) weights');
    return this.trainer.ema.withAveraged(fn);
  }

  weights(which: Weights): Promise<TensorMap> {
    return this.withWeights(which, async () => stateDict(this.model));
  }

  trainerState(): Promise<TrainerState> {
    return this.trainer.exportState();
  }

  /** The loop's test hooks take classifiers only. */
  localModel(): null {
    return null;
  }

  async dispose(): Promise<void> {
    this.trainer.dispose();
    this.model.dispose();
  }
}
