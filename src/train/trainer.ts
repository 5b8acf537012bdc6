// One optimisation step, and the optimizer/EMA state that goes with the model. The step is
//   loss = CE_smoothed(model.forward(x, {training, nextSeed}), y)
//   grads = d loss / d trainable variables (tf.variableGrads), clipped to a global L2 norm
//   AdamW update, then the EMA update
// all inside one tf.tidy, so nothing but the three scalars it returns outlives it; those are read
// (one device sync) and disposed outside the tidy.
import * as tf from '@tensorflow/tfjs';
import type { TensorMap } from '../model/safetensors.ts';
import type { ForwardOptions } from '../model/types.ts';
import { AdamW, type AdamWSettings, type AdamWStateJson } from './adamw.ts';
import { WeightEma } from './ema.ts';
import { smoothedCrossEntropy } from './loss.ts';

/** The part of Model the trainer needs (a stand-in with a couple of variables satisfies it in tests). */
export interface TrainableModel {
  forward(x: tf.Tensor4D, opts?: ForwardOptions): tf.Tensor2D;
  readonly params: ReadonlyMap<string, { variable: tf.Variable; trainable: boolean }>;
  /** Keys of the classifier: the only parameters trained while the backbone is frozen. */
  readonly headKeys: string[];
}

export interface TrainerSettings {
  adamw: AdamWSettings;
  labelSmoothing: number;
  /** Maximum global L2 norm of the gradients; null: no clipping. */
  gradClip: number | null;
  /** EMA decay; null: no EMA. */
  emaDecay: number | null;
}

export interface StepResult {
  loss: number;
  /** Images of the batch whose top-1 prediction was right. */
  correct: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

export interface TrainerStateJson {
  optimizer: AdamWStateJson;
  emaUpdates: number | null;
}

export class Trainer {
  readonly optimizer: AdamW;
  readonly ema: WeightEma | null;
  private readonly trainable: { key: string; variable: tf.Variable }[];
  private readonly keyOf = new Map<string, string>(); // variable.name → timm key

  constructor(readonly model: TrainableModel, readonly settings: TrainerSettings) {
    this.trainable = [...model.params].filter(([, p]) => p.trainable).map(([key, p]) => ({ key, variable: p.variable }));
    for (const { key, variable } of this.trainable) this.keyOf.set(variable.name, key);
    this.optimizer = new AdamW(this.trainable, settings.adamw);
    this.ema = settings.emaDecay === null ? null
      : new WeightEma([...model.params].map(([key, p]) => ({ key, variable: p.variable })), settings.emaDecay);
  }

  /** One step on a batch; `frozenBackbone` trains the classifier only. */
  async step(x: tf.Tensor4D, labels: Int32Array, lr: number, nextSeed: () => number, frozenBackbone = false): Promise<StepResult> {
    if (labels.length !== x.shape[0]) throw new Error(`training step: ${labels.length} labels for a batch of ${x.shape[0]}`);
    const head = new Set(this.model.headKeys);
    const vars = frozenBackbone ? this.trainable.filter((p) => head.has(p.key)) : this.trainable;
    const { smoothing, clip } = { smoothing: this.settings.labelSmoothing, clip: this.settings.gradClip };
    const out = tf.tidy(() => {
      const y = tf.tensor1d(labels, 'int32');
      let correct: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const logits = this.model.forward(x, { training: true, nextSeed });
        correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')));
        return smoothedCrossEntropy(logits, y, smoothing);
      }, vars.map((p) => p.variable));
      const named = new Map<string, tf.Tensor>();
      for (const [name, g] of Object.entries(grads)) named.set(this.keyOf.get(name)!, g);
      const norm = tf.sqrt(tf.addN([...named.values()].map((g) => tf.sum(tf.square(g)))));
      if (clip !== null) {
        // min(1, clip / (norm + 1e-6)), computed on the device: no sync in the middle of the step.
        const scale = tf.minimum(1, tf.div(clip, tf.add(norm, 1e-6)));
        for (const [key, g] of named) named.set(key, tf.mul(g, scale));
      }
      this.optimizer.apply(named, lr);
      this.ema?.update();
      return { value: value as tf.Scalar, norm: norm as tf.Scalar, correct: correct! };
    });
    // tf.keep'd inside the gradient function, so the tidy did not take it: released here.
    const [loss, gradNorm, correct] = await Promise.all([out.value.data(), out.norm.data(), out.correct.data()]);
    out.value.dispose(); out.norm.dispose(); out.correct.dispose();
    return { loss: loss[0], gradNorm: gradNorm[0], correct: correct[0] };
  }

  /** Optimizer moments and EMA weights as one tensor map (`opt.m.*`, `opt.v.*`, `ema.*`) plus JSON. */
  async exportState(): Promise<{ tensors: TensorMap; json: TrainerStateJson }> {
    const opt = await this.optimizer.exportState();
    const tensors: TensorMap = new Map();
    for (const [k, t] of opt.tensors) tensors.set(`opt.${k}`, t);
    if (this.ema) for (const [k, t] of await this.ema.exportState()) tensors.set(`ema.${k}`, t);
    return { tensors, json: { optimizer: opt.json, emaUpdates: this.ema ? this.ema.updates : null } };
  }

  importState(tensors: TensorMap, json: TrainerStateJson, source: string): void {
    const part = (prefix: string) => new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
    this.optimizer.importState(part('opt.'), json.optimizer, source);
    if (this.ema) {
      if (json.emaUpdates === null) throw new Error(`${source}: the checkpoint has no EMA state but the run uses EMA`);
      this.ema.importState(part('ema.'), json.emaUpdates, source);
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}
