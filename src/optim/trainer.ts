// One optimisation step, and the optimizer/EMA state that goes with the model. The step is
//   loss = objective(model.forward(x, {training, nextSeed}), y)   (objective.ts: per task)
//   grads = d loss / d trainable variables (tf.variableGrads), clipped to a global L2 norm
//   AdamW update, then the EMA update
// each part inside a tf.tidy, so nothing but the scalars it reports outlives it; those are read
// (one device sync) and disposed outside the tidies.
import * as tf from '@tensorflow/tfjs';
import { filledFloat32, readFloat32Into } from '../util/host-float32.ts';
import type { TensorMap } from '../model/safetensors.ts';
import type { ForwardOptions } from '../model/types.ts';
import { AdamW, type AdamWSettings, type AdamWStateJson } from './adamw.ts';
import { releasingBackward } from './backward-release.ts';
import { WeightEma } from './ema.ts';
import { CLASSIFICATION_OBJECTIVE, type Objective } from './objective.ts';
import { BN_MOMENTUM } from '../model/layers.ts';

/** The part of Model the trainer needs (a stand-in with a couple of variables satisfies it in tests). */
export interface TrainableModel {
  /** Logits [B, C] of a classifier, or [B, h, w, C] of a dense model: whatever the trainer's objective reads. */
  forward(x: tf.Tensor4D, opts?: ForwardOptions): tf.Tensor;
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
  /** Images of the batch whose top-1 prediction was right (a pixel objective: labelled pixels). */
  correct: number;
  /** What `correct` counts out of, where it is not the batch's images (a pixel objective: its labelled pixels). */
  counted?: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Dropout seeds of each pass of a step: pass p draws from seeds(p) (util/random.ts stepSeeds). */
export type PassSeeds = (pass: number) => () => number;

/**
 * Where a share of a batch sits in the step: its images are passes firstPass, firstPass + 1, … of perPass
 * images each (the last may be short) of a batch of batchSize images.
 */
export interface BatchShare {
  batchSize: number;
  firstPass: number;
  perPass: number;
  frozenBackbone: boolean;
}

/** Images per forward/backward pass of a batch of n for a memory bound of imagesPerPass (at least 1). */
export function passSize(n: number, imagesPerPass: number): number {
  return Math.max(1, Math.min(n, Math.floor(imagesPerPass)));
}

/** One share's half of a step (Trainer.shareGradients): gradients by timm key in TF.js layout, weighted. */
export interface ShareGradients {
  loss: number;
  correct: number;
  /** As StepResult's: absent where the objective counts images (classification). */
  counted?: number;
  grads: TensorMap;
  statistics: PassStatistics;
}

/** Where shareGradients writes the gradient or statistic of a key (a worker's exchange slot); none: a new array. */
export type ShareTarget = (key: string) => Float32Array | undefined;

/**
 * What passes in a row did to the BatchNorm running statistics: r ← (1−m)^passes · r + added, m the momentum.
 * Non-trainable parameters by timm key.
 */
export interface PassStatistics {
  added: TensorMap;
  passes: number;
}

/**
 * The statistics of the shares' passes run one after another, in order: a later share's passes decay what
 * an earlier one added by (1−m) each. So a step split across threads leaves the statistics one thread's
 * passes would have.
 */
export function combineStatistics(shares: readonly PassStatistics[]): PassStatistics {
  const passes = shares.reduce((k, s) => k + s.passes, 0);
  const added: TensorMap = new Map();
  let after = passes;
  for (const s of shares) {
    after -= s.passes;
    const decay = (1 - BN_MOMENTUM) ** after;
    for (const [key, t] of s.added) {
      const sum = added.get(key);
      if (!sum) added.set(key, { shape: t.shape, data: t.data.map((v) => decay * v) });
      else for (let i = 0; i < t.data.length; i++) sum.data[i] += decay * t.data[i];
    }
  }
  return { added, passes };
}

type Sums = { loss: tf.Scalar; correct: tf.Scalar; counted: tf.Scalar; grads: Record<string, tf.Tensor> };

export interface TrainerStateJson {
  optimizer: AdamWStateJson;
  emaUpdates: number | null;
}

export class Trainer {
  readonly optimizer: AdamW;
  readonly ema: WeightEma | null;
  private readonly trainable: { key: string; variable: tf.Variable }[];
  private readonly keyOf = new Map<string, string>(); // variable.name → timm key
  private readonly trainableKeys: Set<string>;
  /** The statistics before this replica's share of the step in progress (shareGradients → applyShared). */
  private statisticsBefore: TensorMap | null = null;

  constructor(readonly model: TrainableModel, readonly settings: TrainerSettings, private readonly objective: Objective = CLASSIFICATION_OBJECTIVE) {
    this.trainable = [...model.params].filter(([, p]) => p.trainable).map(([key, p]) => ({ key, variable: p.variable }));
    for (const { key, variable } of this.trainable) this.keyOf.set(variable.name, key);
    this.trainableKeys = new Set(this.trainable.map((p) => p.key));
    this.optimizer = new AdamW(this.trainable, settings.adamw);
    this.ema = settings.emaDecay === null ? null
      : new WeightEma([...model.params].map(([key, p]) => ({ key, variable: p.variable })), settings.emaDecay);
  }

  /**
   * One step on a batch; `frozenBackbone` trains the classifier only. With `imagesPerPass` smaller
   * than the batch, the forward/backward passes go through the batch in slices of that many images
   * and their gradients are averaged before the single update (gradient accumulation): the same
   * step as one pass, except that BatchNorm's statistics come from each slice. This is how a batch
   * too large for wasm's 4 GB memory still trains (see memory.ts). Pass p draws its dropout seeds from `seeds(p)`.
   */
  async step(x: tf.Tensor4D, labels: Int32Array, lr: number, seeds: PassSeeds, frozenBackbone = false,
    imagesPerPass = Infinity): Promise<StepResult> {
    const n = x.shape[0];
    const total = this.accumulate(x, labels, { batchSize: n, firstPass: 0, perPass: passSize(n, imagesPerPass), frozenBackbone }, seeds);
    const norm = this.update(this.byKey(total.grads), lr);
    const [loss, gradNorm, correct, counted] = await Promise.all([total.loss.data(), norm.data(), total.correct.data(), total.counted.data()]);
    tf.dispose([total.loss, total.correct, total.counted, norm, ...Object.values(total.grads)]);
    return { loss: loss[0], gradNorm: gradNorm[0], correct: correct[0], ...this.countedOf(counted[0]) };
  }

  /** `counted` for a result, where the objective counts something other than the batch's images. */
  private countedOf(counted: number): { counted?: number } {
    return this.objective === CLASSIFICATION_OBJECTIVE ? {} : { counted };
  }

  /**
   * The first half of a step split across threads (device/parallel.ts): the passes of one share of the batch,
   * their loss, hits and weighted gradients summed, read out with what the passes added to the BatchNorm
   * statistics. The shares' sums, added up, are what step() would compute over the whole batch in passes of
   * `perPass`; combineStatistics() composes the statistics as one thread's passes in a row would have.
   */
  async shareGradients(x: tf.Tensor4D, labels: Int32Array, share: BatchShare, seeds: PassSeeds, into?: ShareTarget): Promise<ShareGradients> {
    const before = await this.readStatistics();
    const sums = this.accumulate(x, labels, share, seeds);
    // Each value is read once, into its place in `into` where it has one (no array made and dropped a step).
    const target = (key: string, size: number) => into?.(key) ?? new Float32Array(size);
    try {
      const grads: TensorMap = new Map();
      for (const [name, g] of Object.entries(sums.grads)) {
        const key = this.keyOf.get(name)!;
        const data = target(key, g.size);
        await readFloat32Into(g, data);
        grads.set(key, { shape: g.shape.slice(), data });
      }
      // Each pass moved the statistics r ← (1−m)·r + m·batch: after k passes r = (1−m)^k·r₀ + added.
      const passes = Math.ceil(x.shape[0] / share.perPass);
      const kept = (1 - BN_MOMENTUM) ** passes;
      const added: TensorMap = new Map();
      for (const [key, p] of this.model.params) {
        if (p.trainable) continue;
        const r0 = before.get(key)!.data;
        const data = target(key, r0.length);
        await readFloat32Into(p.variable, data);
        for (let i = 0; i < data.length; i++) data[i] -= kept * r0[i];
        added.set(key, { shape: p.variable.shape.slice(), data });
      }
      this.statisticsBefore = before;
      const [loss, correct, counted] = await Promise.all([sums.loss.data(), sums.correct.data(), sums.counted.data()]);
      return { loss: loss[0], correct: correct[0], ...this.countedOf(counted[0]), grads, statistics: { added, passes } };
    } finally {
      tf.dispose([sums.loss, sums.correct, sums.counted, ...Object.values(sums.grads)]);
    }
  }

  /**
   * The second half: every replica applies the same summed gradients (clipping, AdamW, EMA), so replicas stay
   * equal, and sets the same BatchNorm statistics: (1−m)^passes · (its statistics before its share) + added,
   * with the shares combined by combineStatistics(). Returns the global gradient norm before clipping.
   * A replica without a share (a batch of fewer passes than replicas) starts from its statistics as they are:
   * where every replica's were before the step.
   */
  async applyShared(grads: TensorMap, statistics: PassStatistics, lr: number): Promise<number> {
    const before = this.statisticsBefore ?? await this.readStatistics();
    this.statisticsBefore = null;
    const kept = (1 - BN_MOMENTUM) ** statistics.passes;
    for (const [key, b] of statistics.added) {
      const p = this.model.params.get(key);
      const r0 = before.get(key);
      if (!p || !r0 || r0.data.length !== b.data.length) throw new Error(`applying gradients: "${key}" is not a BatchNorm statistic of the model`);
      tf.tidy(() => p.variable.assign(filledFloat32(p.variable.shape, (values) => {
        for (let i = 0; i < values.length; i++) values[i] = kept * r0.data[i] + b.data[i];
      })));
    }
    const named = new Map<string, tf.Tensor>();
    for (const [key, g] of grads) {
      if (!this.trainableKeys.has(key)) throw new Error(`applying gradients: "${key}" is not a trainable parameter of the model`);
      named.set(key, tf.tensor(g.data, g.shape));
    }
    try {
      const norm = this.update(named, lr);
      const value = (await norm.data())[0];
      norm.dispose();
      return value;
    } finally {
      tf.dispose([...named.values()]);
    }
  }

  /** The BatchNorm running statistics (the non-trainable parameters), read out. */
  private async readStatistics(): Promise<TensorMap> {
    const out: TensorMap = new Map();
    for (const [key, p] of this.model.params) {
      if (!p.trainable) {
        const data = new Float32Array(p.variable.size);
        await readFloat32Into(p.variable, data);
        out.set(key, { shape: p.variable.shape.slice(), data });
      }
    }
    return out;
  }

  /**
   * Forward and backward passes over `x` (the share's images) in slices of share.perPass images; each pass's
   * loss and gradients weighted by its part of the whole batch and summed. Gradients by variable name.
   */
  private accumulate(x: tf.Tensor4D, labels: Int32Array, share: BatchShare, seeds: PassSeeds): Sums {
    const count = x.shape[0];
    // One label per image, or one per pixel: the objective reads them (labelTensor).
    const perImage = labels.length / count;
    if (!Number.isInteger(perImage) || perImage < 1) throw new Error(`training step: ${labels.length} labels for a batch of ${count}`);
    const objective = this.objective;
    const head = new Set(this.model.headKeys);
    const vars = (share.frozenBackbone ? this.trainable.filter((p) => head.has(p.key)) : this.trainable).map((p) => p.variable);
    const smoothing = this.settings.labelSmoothing;
    const per = share.perPass;

    let sums: Sums | null = null;
    for (let start = 0; start < count; start += per) {
      const size = Math.min(per, count - start);
      const nextSeed = seeds(share.firstPass + start / per);
      const prev: Sums | null = sums;
      sums = tf.tidy(() => {
        const xs = size === count ? x : tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
        const y = objective.labelTensor(labels.subarray(start * perImage, (start + size) * perImage), size, x.shape[1]);
        let hits: tf.Scalar | undefined;
        // The pass's part of the batch weighs its loss, so its gradients come out weighted: one multiply of a
        // scalar rather than one per gradient (exactly the same where the weight is a power of 2).
        const w = size / share.batchSize;
        const { value, grads } = tf.variableGrads(releasingBackward(() => {
          const output = this.model.forward(xs, { training: true, nextSeed });
          hits = tf.keep(objective.hits(output, y));
          const loss = objective.loss(output, y, smoothing);
          return w === 1 ? loss : tf.mul(loss, w);
        }), vars);
        const correct = prev ? tf.add(prev.correct, hits!) : tf.clone(hits!);
        hits!.dispose(); // kept inside the gradient function, so this tidy would not release it
        const counted = objective.counted(y);
        const out: Sums = {
          loss: (prev ? tf.add(prev.loss, value) : value) as tf.Scalar, correct: correct as tf.Scalar,
          counted: (prev ? tf.add(prev.counted, counted) : counted) as tf.Scalar, grads: {},
        };
        for (const [name, g] of Object.entries(grads)) out.grads[name] = prev ? tf.add(prev.grads[name], g) : g;
        return out;
      });
      if (prev) tf.dispose([prev.loss, prev.correct, prev.counted, ...Object.values(prev.grads)]);
    }
    return sums!;
  }

  private byKey(grads: Record<string, tf.Tensor>): Map<string, tf.Tensor> {
    return new Map(Object.entries(grads).map(([name, g]) => [this.keyOf.get(name)!, g]));
  }

  /** Clipping, AdamW and EMA with gradients by timm key (not disposed here); the global norm before clipping. */
  private update(grads: Map<string, tf.Tensor>, lr: number): tf.Scalar {
    const clip = this.settings.gradClip;
    return tf.tidy(() => {
      const named = new Map(grads);
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
