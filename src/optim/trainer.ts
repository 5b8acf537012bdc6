// One optimisation step, and the optimizer/EMA state that goes with the model. The step is
//   loss = CE_smoothed(model.forward(x, {training, nextSeed}), y)
//   grads = d loss / d trainable variables (tf.variableGrads), clipped to a global L2 norm
//   AdamW update, then the EMA update
// each part inside a tf.tidy, so nothing but the scalars it reports outlives it; those are read
// (one device sync) and disposed outside the tidies.
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

  /**
   * One step on a batch; `frozenBackbone` trains the classifier only. With `imagesPerPass` smaller
   * than the batch, the forward/backward passes go through the batch in slices of that many images
   * and their gradients are averaged before the single update (gradient accumulation): the same
   * step as one pass, except that BatchNorm's statistics come from each slice. This is how a batch
   * too large for wasm's 4 GB memory still trains (see memory.ts).
   */
  async step(x: tf.Tensor4D, labels: Int32Array, lr: number, nextSeed: () => number, frozenBackbone = false,
    imagesPerPass = Infinity): Promise<StepResult> {
    const n = x.shape[0];
    if (labels.length !== n) throw new Error(`training step: ${labels.length} labels for a batch of ${n}`);
    const head = new Set(this.model.headKeys);
    const vars = (frozenBackbone ? this.trainable.filter((p) => head.has(p.key)) : this.trainable).map((p) => p.variable);
    const smoothing = this.settings.labelSmoothing;
    const per = Math.max(1, Math.min(n, Math.floor(imagesPerPass)));

    // Sums over the slices, each weighted by its share of the batch.
    type Sums = { loss: tf.Scalar; correct: tf.Scalar; grads: Record<string, tf.Tensor> };
    let sums: Sums | null = null;
    for (let start = 0; start < n; start += per) {
      const count = Math.min(per, n - start);
      const prev: Sums | null = sums;
      sums = tf.tidy(() => {
        const xs = count === n ? x : tf.slice(x, [start, 0, 0, 0], [count, -1, -1, -1]);
        const y = tf.tensor1d(labels.subarray(start, start + count), 'int32');
        let hits: tf.Scalar | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = this.model.forward(xs, { training: true, nextSeed });
          hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32')));
          return smoothedCrossEntropy(logits, y, smoothing);
        }, vars);
        const w = count / n;
        const weigh = (t: tf.Tensor) => (w === 1 ? t : tf.mul(t, w));
        const correct = prev ? tf.add(prev.correct, hits!) : tf.clone(hits!);
        hits!.dispose(); // kept inside the gradient function, so this tidy would not release it
        const out: Sums = { loss: (prev ? tf.add(prev.loss, weigh(value)) : weigh(value)) as tf.Scalar, correct: correct as tf.Scalar, grads: {} };
        for (const [name, g] of Object.entries(grads)) out.grads[name] = prev ? tf.add(prev.grads[name], weigh(g)) : weigh(g);
        return out;
      });
      if (prev) tf.dispose([prev.loss, prev.correct, ...Object.values(prev.grads)]);
    }
    const total = sums!;

    const clip = this.settings.gradClip;
    const norm = tf.tidy(() => {
      const named = new Map<string, tf.Tensor>();
      for (const [name, g] of Object.entries(total.grads)) named.set(this.keyOf.get(name)!, g);
      // Not tf.addN over every gradient: on webgpu its kernel binds each input as a storage buffer, and with 8 or
      // more (above maxStorageBuffersPerShaderStage) the command buffer is invalid: the norm reads 0 and the update
      // is silently dropped. tf.stack (a concat, which webgpu splits to fit that limit) and one sum are safe everywhere.
      const norm = tf.sqrt(tf.sum(tf.stack([...named.values()].map((g) => tf.sum(tf.square(g)))))) as tf.Scalar;
      if (clip !== null) {
        // min(1, clip / (norm + 1e-6)), computed on the device: no sync in the middle of the step.
        const scale = tf.minimum(1, tf.div(clip, tf.add(norm, 1e-6)));
        for (const [key, g] of named) named.set(key, tf.mul(g, scale));
      }
      this.optimizer.apply(named, lr);
      this.ema?.update();
      return norm;
    });
    const [loss, gradNorm, correct] = await Promise.all([total.loss.data(), norm.data(), total.correct.data()]);
    tf.dispose([total.loss, total.correct, norm, ...Object.values(total.grads)]);
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
