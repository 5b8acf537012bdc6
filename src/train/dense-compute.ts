// The compute of a dense-prediction run (segmentation, detection) on the run's device:
// - this process (LocalDevice): DenseCompute, the network and its trainer here, evaluated in place;
// - wasm-workers and the page devices: the device's kernel(s) build the network and step it with its task's
//   objective (DeviceCompute; the workers data parallel as for a classifier's run); the engine keeps its own copy
//   of the network only to evaluate, loaded with the weights the device trained (the live or the averaged ones)
//   before each evaluation. Both tasks train on every device (test/device/dense-train-on-page.test.ts: the page ones).
import * as tf from '@tensorflow/tfjs';
import { LocalDevice, type ComputeDevice } from '../device/device.ts';
import type { Weights } from '../device/wire.ts';
import type { DetectionModel } from '../model/detection.ts';
import type { TensorMap } from '../model/safetensors.ts';
import type { Network } from '../model/network.ts';
import type { SegmentationModel } from '../model/segmentation.ts';
import { loadWeights, stateDict } from '../model/weights.ts';
import { trainingOf } from '../optim/network-training.ts';
import type { Objective } from '../optim/objective.ts';
import { Trainer, type StepResult, type TrainableModel, type TrainerSettings } from '../optim/trainer.ts';
import { stepSeeds } from '../util/random.ts';
import { DeviceCompute, type StepInput, type TrainerState } from './compute.ts';
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

/** A dense run's compute and how to evaluate: `evaluate(which, fn)` runs fn on the network holding those weights. */
export interface DenseSession<M> {
  compute: StepCompute;
  evaluate<T>(which: Weights, fn: (model: M) => Promise<T>): Promise<T>;
}

/**
 * Opens `model`'s training on `device`; takes `model` over (disposed with the compute, or here if opening fails). `quick`: a detector's quick run (optim/network-training.ts detectorView).
 */
export async function openDenseCompute<M extends SegmentationModel | DetectionModel>(device: ComputeDevice, model: M, settings: TrainerSettings, quick: boolean, state?: TrainerState & { source: string }): Promise<DenseSession<M>> {
  try {
    if (device instanceof LocalDevice) {
      const { view, objective } = trainingOf(model, quick);
      const compute = new DenseCompute(model, view, settings, objective, state);
      return { compute, evaluate: (which, fn) => compute.withWeights(which, () => fn(model)) };
    }
    // The device's compute, with this process's copy of the network, which evaluates the device's weights.
    const run = await DeviceCompute.open(device, model, settings, { state, quick, copy: model });
    return {
      compute: run,
      async evaluate(which, fn) {
        loadWeights(model, await run.weights(which), { allowHeadMismatch: false, source: `the ${which} weights of the ${device.info.name} device` });
        return fn(model);
      },
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
