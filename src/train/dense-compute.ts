// The compute of a dense-prediction run (segmentation, detection): the network and its trainer in this process,
// on this process's TensorFlow.js backend. A device (src/device/kernel.ts) opens a dense network for inference but
// trains classifiers only so far, so such a run trains here whatever device is chosen (the tasks refuse the page
// and worker devices).
import * as tf from '@tensorflow/tfjs';
import type { Weights } from '../device/wire.ts';
import type { TensorMap } from '../model/safetensors.ts';
import type { Network } from '../model/network.ts';
import { stateDict } from '../model/weights.ts';
import type { Objective } from '../optim/objective.ts';
import { Trainer, type StepResult, type TrainableModel, type TrainerSettings } from '../optim/trainer.ts';
import { stepSeeds } from '../util/random.ts';
import type { StepInput, TrainerState } from './compute.ts';
import type { StepCompute } from './tasks/task.ts';

export class DenseCompute<M extends Network> implements StepCompute {
  private readonly trainer: Trainer;

  /**
   * Takes `model` over (disposed with the compute). `trainable` is what the trainer steps: the model itself, or a
   * view of it whose output is the one tensor the objective reads (a detector's deltas and logits side by side).
   */
  constructor(readonly model: M, trainable: TrainableModel, settings: TrainerSettings, objective: Objective, state?: TrainerState & { source: string }) {
    this.trainer = new Trainer(trainable, settings, objective);
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
