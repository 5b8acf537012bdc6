// The tensor work of one training session, as the loop sees it: a step on a batch, an evaluation, the
// weights and the optimizer state to checkpoint. Two kinds:
// - DeviceCompute: the whole model trains on a compute device (src/device/: this process or a Chromium
//   page); the batch crosses as pixels, the weights and state come back as typed arrays;
// - HeadOnlyCompute: the classifier trains alone on the frozen backbone's cached features (head-only.ts),
//   in this process: a few thousand multiply-adds per image, which no device would speed up.
import * as tf from '@tensorflow/tfjs';
import type { Batch, EvalSet } from '../data/loader.ts';
import type { ComputeDevice } from '../device/device.ts';
import { logitsOn } from '../device/inference.ts';
import { defaultThreads } from '../device/parallel.ts';
import { OrtModel } from '../export/ort-model.ts';
import type { Weights } from '../device/wire.ts';
import type { TensorMap } from '../model/safetensors.ts';
import { createModel, type Model } from '../model/model.ts';
import type { VariantName } from '../model/registry/index.ts';
import type { AnyNetwork } from '../model/networks.ts';
import { loadWeights, stateDict } from '../model/weights.ts';
import { Trainer, type StepResult, type TrainerSettings, type TrainerStateJson } from '../optim/trainer.ts';
import { stepSeeds } from '../util/random.ts';
import { evaluateSet, type Evaluation } from './evaluate.ts';
import { decidedRuntime, openDecided, type RuntimeDecision } from './feature-runtime.ts';
import type { Logits } from './inference-model.ts';
import { headOnlyView, type FeatureBank } from './head-only.ts';
import { fitHead, type HeadFit } from './head-solve.ts';

export interface StepInput {
  batch: Batch;
  epoch: number;
  lr: number;
  /** The run's seed and the global step about to run: the dropout seeds derive from them. */
  seed: number;
  step: number;
  frozenBackbone: boolean;
  /** Images per forward/backward pass (gradient accumulation); Infinity: the whole batch. */
  imagesPerPass: number;
}

export interface TrainerState { tensors: TensorMap; json: TrainerStateJson }

export interface RunCompute {
  /** The TF.js backend the passes run on (wasm splits large batches: memory.ts). */
  readonly tfBackend: string;
  step(input: StepInput): Promise<StepResult>;
  evaluate(which: Weights, evalSet: EvalSet, batchSize: number, classes: string[]): Promise<Evaluation>;
  weights(which: Weights): Promise<TensorMap>;
  trainerState(): Promise<TrainerState>;
  /** The model object, when it lives in this process (test hooks). */
  localModel(): Model | null;
  dispose(): Promise<void>;
}

/** A classifier's validation passes on the inference runtime rule: the classifier, and where the run's notes go. */
export interface ValidationRuntime { variant: VariantName; numClasses: number; onNote(note: string): void }

export interface DeviceComputeOptions {
  /** A checkpoint's optimizer state. */
  state?: TrainerState;
  /** A detector's quick run (optim/network-training.ts detectorView). */
  quick?: boolean;
  /** A classifier whose validation passes follow the inference runtime rule. */
  validation?: ValidationRuntime;
  /** This process's copy of a segmentation or detection network, which evaluates the device's weights (dense-compute.ts): disposed with the compute. */
  copy?: AnyNetwork;
}

export class DeviceCompute implements RunCompute {
  /** The rule's answer for this run's validation passes, taken at the first one. */
  private runtime: RuntimeDecision | null = null;

  private constructor(private readonly device: ComputeDevice, private readonly o: DeviceComputeOptions) {}

  /**
   * Sends `model`'s weights (and a checkpoint's optimizer state) to the device and builds its trainer there, with
   * the network's own objective (optim/network-training.ts).
   */
  static async open(device: ComputeDevice, model: AnyNetwork, settings: TrainerSettings, o: DeviceComputeOptions = {}): Promise<DeviceCompute> {
    await device.call({ op: 'open', model: { variant: model.variant, numClasses: model.numClasses }, weights: stateDict(model), train: { settings, state: o.state, quick: o.quick ?? false } });
    return new DeviceCompute(device, o);
  }

  get tfBackend(): string {
    return this.device.info.tfBackend;
  }

  async step(i: StepInput): Promise<StepResult> {
    const { x, size, labels, indices } = i.batch;
    return this.device.call({
      op: 'step', x, size, labels, lr: i.lr, seed: i.seed, step: i.step, frozen: i.frozenBackbone,
      // Infinity (a detector's quick run) is the whole batch in one pass on every device: wasm-workers would
      // otherwise give each worker a pass of its own.
      imagesPerPass: Math.min(i.imagesPerPass, indices.length),
    });
  }

  async evaluate(which: Weights, evalSet: EvalSet, batchSize: number, classes: string[]): Promise<Evaluation> {
    const logits = await this.validationLogits(which, evalSet);
    try {
      return await evaluateSet(logits, evalSet, batchSize, classes);
    } finally {
      await logits.dispose();
    }
  }

  /**
   * Where a validation pass computes: on onnxruntime where the rule has decided so for this classifier and size,
   * else on the run's device, whatever it is, with its own passes (wasm-workers split the images across its threads).
   * onnxruntime that cannot start leaves the run's device for the rest of the run, saying why.
   */
  private async validationLogits(which: Weights, evalSet: EvalSet): Promise<Logits> {
    const onDevice = async (): Promise<Logits> => ({ ...logitsOn(this.device, which), dispose: async () => undefined });
    const v = this.o.validation;
    if (!v) return onDevice();
    if (!this.runtime) {
      // Never measured here: measuring would open another model on the run's device. Unmeasured, TF.js.
      const size = evalSet.size;
      this.runtime = decidedRuntime(v.variant, size, { device: this.device, pixels: evalSet.images.length * size * size })
        ?? { runtime: 'tfjs', why: 'runtimes not measured for this model and size yet' };
      // Said when they leave the run's device (which the run's device line already names).
      if (this.runtime.runtime === 'onnxruntime') v.onNote(`validation passes on onnxruntime-node (${this.runtime.why})`);
    }
    if (this.runtime.runtime !== 'onnxruntime') return onDevice();
    // A copy of the weights (live or averaged) exported in memory: inference only, so the run's steps, its random
    // streams and its weights are untouched; the numbers differ from TF.js's by float noise only.
    const copy = createModel(v.variant, { numClasses: v.numClasses });
    try {
      loadWeights(copy, await this.weights(which), { source: 'the run\'s weights' });
      const opened = await openDecided(this.runtime, { tfjs: onDevice, onnxruntime: () => OrtModel.create(copy, evalSet.size, defaultThreads()) });
      if (opened.runtime !== 'onnxruntime') {
        this.runtime = { runtime: opened.runtime, why: opened.why };
        v.onNote(`validation passes back on the run's device (${opened.why})`);
      }
      return opened.source;
    } finally {
      copy.dispose(); // the session holds its own export
    }
  }

  weights(which: Weights): Promise<TensorMap> {
    return this.device.call({ op: 'weights', weights: which });
  }

  trainerState(): Promise<TrainerState> {
    return this.device.call({ op: 'trainer-state' });
  }

  localModel(): Model | null {
    return this.device.localModel();
  }

  /** Releases the model on the device (the device itself belongs to whoever opened it), and this process's copy. */
  async dispose(): Promise<void> {
    await this.device.call({ op: 'close' }).catch(() => undefined); // a lost device holds nothing any more
    this.o.copy?.dispose();
  }
}

export class HeadOnlyCompute implements RunCompute {
  private readonly trainer: Trainer;

  constructor(private readonly model: Model, private readonly bank: FeatureBank, settings: TrainerSettings, state?: TrainerState, source = 'the checkpoint') {
    this.trainer = new Trainer(headOnlyView(model), settings);
    if (state) this.trainer.importState(state.tensors, state.json, source);
  }

  get tfBackend(): string {
    return tf.getBackend();
  }

  async step(i: StepInput): Promise<StepResult> {
    const x = this.bank.tensor(i.epoch, i.batch.indices);
    try {
      return await this.trainer.step(x, i.batch.labels, i.lr, (pass) => stepSeeds(i.seed, i.step, pass));
    } finally {
      x.dispose();
    }
  }

  /** Solves the classifier to its optimum on every cached row (head-solve.ts) and puts it in the model. */
  solve(labels: Int32Array, seed: number): HeadFit {
    const fit = fitHead(this.bank.rows(labels, this.model.numClasses), seed);
    const head = [...headOnlyView(this.model).params.values()].map((p) => p.variable);
    const weight = head.find((v) => v.rank === 2);
    const bias = head.find((v) => v.rank === 1);
    if (!weight || !bias || head.length !== 2) throw new Error(`head-only: the classifier of ${this.model.variant} is not one linear layer`);
    const split = weight.size;
    tf.tidy(() => {
      weight.assign(tf.tensor(Float32Array.from(fit.solved.params.subarray(0, split)), weight.shape));
      bias.assign(tf.tensor(Float32Array.from(fit.solved.params.subarray(split)), bias.shape));
    });
    return fit;
  }

  evaluate(which: Weights, _evalSet: EvalSet, batchSize: number, classes: string[]): Promise<Evaluation> {
    return this.withWeights(which, () => this.bank.evaluate(this.model, batchSize, classes));
  }

  weights(which: Weights): Promise<TensorMap> {
    return this.withWeights(which, async () => stateDict(this.model));
  }

  trainerState(): Promise<TrainerState> {
    return this.trainer.exportState();
  }

  localModel(): Model {
    return this.model;
  }

  private withWeights<T>(which: Weights, fn: () => Promise<T>): Promise<T> {
    if (which === 'live') return fn();
    if (!this.trainer.ema) throw new Error('head-only: the run has no averaged (EMA) weights');
    return this.trainer.ema.withAveraged(fn);
  }

  async dispose(): Promise<void> {
    this.trainer.dispose();
    this.model.dispose();
  }
}
