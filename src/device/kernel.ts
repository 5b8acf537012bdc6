// The device side of a compute device: holds one network (and, to train it, its Trainer) on whatever
// TensorFlow.js backend its host set up, and answers DeviceRequests with the studio's own model, training-step and
// inspection code. The same class runs in this process (local.ts), in a Chromium page (page/entry.ts) and
// could run in any other JavaScript host: it touches no file and imports nothing from Node.
import * as tf from '@tensorflow/tfjs';
import { captureAttention } from '../inspect/capture.ts';
import { profileModel } from '../inspect/profile.ts';
import { profileModelByCuts } from '../inspect/profile-cuts.ts';
import { receptiveFieldAsync, spatialBlocks } from '../inspect/receptive-field.ts';
import { DetectionModel } from '../model/detection.ts';
import { Model } from '../model/model.ts';
import { createNetwork, type AnyNetwork } from '../model/networks.ts';
import { taskOf } from '../model/registry/index.ts';
import { loadWeights, readStateDict } from '../model/weights.ts';
import { trainingOf } from '../optim/network-training.ts';
import { Trainer, type ShareGradients } from '../optim/trainer.ts';
import { stepSeeds } from '../util/random.ts';
import { describeDeviceInfo } from './describe.ts';
import { abortExchange, exchangeShares, shareTarget } from './exchange.ts';
import { imagesIn, type DeviceInfo, type DeviceProfileOptions, type DeviceRequest, type DeviceResults, type Shape4, type Weights } from './wire.ts';

export class DeviceKernel {
  private model: AnyNetwork | null = null;
  private trainer: Trainer | null = null;

  /** `cpuClock`: the process's CPU time in ms, where it measures the kernel's work alone (single-threaded, in-process). */
  constructor(private readonly describe: () => DeviceInfo, private readonly cpuClock?: () => number) {}

  /** The classifier, once opened (the in-process device lends it to code that needs the object itself). */
  get current(): Model | null {
    return this.model instanceof Model ? this.model : null;
  }

  async handle<R extends DeviceRequest>(req: R): Promise<DeviceResults[R['op']]> {
    return (await this.dispatch(req)) as DeviceResults[R['op']];
  }

  private async dispatch(req: DeviceRequest): Promise<unknown> {
    switch (req.op) {
      case 'info':
        return this.describe();
      case 'open': {
        this.release();
        const model = createNetwork(req.model.variant, req.model.numClasses);
        try {
          loadWeights(model, req.weights, { allowHeadMismatch: false, source: 'the weights sent to the device' });
          if (req.train) {
            // Any network trains, with its task's objective (a detector as its joined view: optim/network-training.ts).
            const { view, objective } = trainingOf(model, req.train.quick ?? false);
            this.trainer = new Trainer(view, req.train.settings, objective);
            const state = req.train.state;
            if (state) this.trainer.importState(state.tensors, state.json, state.source ?? 'the optimizer state sent to the device');
          }
        } catch (e) {
          this.trainer?.dispose();
          this.trainer = null;
          model.dispose();
          throw e;
        }
        this.model = model;
        return null;
      }
      case 'step': {
        const trainer = this.needTrainer();
        const x = tf.tensor4d(req.x, [imagesIn(req), req.size, req.size, 3]);
        try {
          return await trainer.step(x, req.labels, req.lr, (pass) => stepSeeds(req.seed, req.step, pass), req.frozen, req.imagesPerPass ?? Infinity);
        } finally {
          x.dispose();
        }
      }
      case 'share-step':
        return await this.shareStep(req);
      case 'logits':
        return this.withWeights(req.weights, () => this.rows(req.x, req.shape, (x) => outputOf(this.needModel(), x)));
      case 'features':
        return this.rows(req.x, req.shape, (x) => this.needClassifier('features').features(x, { training: false }));
      case 'weights':
        return this.withWeights(req.weights, () => readStateDict(this.needModel()));
      case 'trainer-state':
        return this.needTrainer().exportState();
      case 'attention': {
        const x = tf.tensor4d(req.x, req.shape);
        try {
          return await captureAttention(this.needModel(), x, req.only ?? undefined);
        } finally {
          x.dispose();
        }
      }
      case 'receptive-field': {
        const model = this.needModel();
        const all = spatialBlocks(model);
        const blocks = req.blocks === null ? all : req.blocks.map((i) => {
          if (!all[i]) throw new RangeError(`receptive field: block ${i} is not one of the ${all.length} spatial blocks`);
          return all[i];
        });
        const x = tf.tensor4d(req.x, req.shape);
        try {
          const fields = [];
          for (const block of blocks) fields.push(await receptiveFieldAsync(model, x, block, req.location ?? undefined));
          return fields;
        } finally {
          x.dispose();
        }
      }
      case 'profile':
        return await this.profile(req.options);
      case 'close':
        this.release();
        return null;
    }
  }

  /** This worker's part of a step split across workers: its share's gradients, the workers' exchange, the update. */
  private async shareStep(req: Extract<DeviceRequest, { op: 'share-step' }>): Promise<DeviceResults['share-step']> {
    const { exchange } = req;
    let trainer: Trainer;
    let mine: ShareGradients | null = null;
    try {
      trainer = this.needTrainer();
      if (exchange.worker < exchange.sharePasses.length) {
        const x = tf.tensor4d(req.x, [imagesIn(req), req.size, req.size, 3]);
        try {
          mine = await trainer.shareGradients(x, req.labels, req.share, (pass) => stepSeeds(req.seed, req.step, pass),
            shareTarget(exchange, trainer.model, req.share.frozenBackbone));
        } finally {
          x.dispose();
        }
      }
    } catch (e) {
      abortExchange(exchange.memory); // the other workers would wait for this share
      throw e;
    }
    const sum = exchangeShares(exchange, trainer.model, req.share.frozenBackbone, mine);
    const gradNorm = await trainer.applyShared(sum.grads, sum.statistics, req.lr);
    return { share: mine && { loss: mine.loss, correct: mine.correct, ...(mine.counted === undefined ? {} : { counted: mine.counted }) }, gradNorm };
  }

  /**
   * Per-block latency, named after the device that measured it (wasm-threads, not tf's "wasm"). On webgpu a
   * synchronous read does not wait for the GPU (and can lose the device), so the pass is timed by cuts there.
   */
  private async profile({ clock, ...options }: DeviceProfileOptions): Promise<DeviceResults['profile']> {
    const info = this.describe();
    if (clock === 'cpu' && !this.cpuClock) throw new Error(`the CPU-time clock measures in-process single-threaded backends only (wasm, cpu), not ${info.name}`);
    const model = this.needModel();
    const result = tf.getBackend() === 'webgpu' ? await profileModelByCuts(model, options)
      : profileModel(model, { ...options, clock: clock === 'cpu' ? this.cpuClock : undefined });
    return { ...result, backend: info.name, device: describeDeviceInfo(info) };
  }

  /** Runs `pass` on images [n, h, w, 3] in inference mode and returns its output's rows. */
  private async rows(data: Float32Array, shape: Shape4, pass: (x: tf.Tensor4D) => tf.Tensor): Promise<Float32Array> {
    const x = tf.tensor4d(data, shape);
    try {
      const out = pass(x);
      try {
        // A copy: a backend may hand out a view of memory it reuses.
        return new Float32Array((await out.data()) as Float32Array);
      } finally {
        out.dispose();
      }
    } finally {
      x.dispose();
    }
  }

  private withWeights<T>(which: Weights, fn: () => Promise<T>): Promise<T> {
    if (which === 'live') return fn();
    const ema = this.needTrainer().ema;
    if (!ema) throw new Error('the device has no averaged (EMA) weights: the run does not use EMA');
    return ema.withAveraged(fn);
  }

  private needModel(): AnyNetwork {
    if (!this.model) throw new Error('the device has no model yet (open it first)');
    return this.model;
  }

  private needClassifier(op: string): Model {
    const model = this.needModel();
    if (!(model instanceof Model)) throw new Error(`'${op}' needs a classifier; the device holds ${model.variant} (${taskOf(model.variant)})`);
    return model;
  }

  private needTrainer(): Trainer {
    if (!this.trainer) throw new Error('the device was opened for inference, not training');
    return this.trainer;
  }

  private release(): void {
    this.trainer?.dispose();
    this.model?.dispose();
    this.trainer = null;
    this.model = null;
  }
}

/**
 * A network's inference output as one tensor: a classifier's logits [n, classes], a segmentation network's
 * logits at 1/16 [n, h, w, classes], a detector's deltas and logits side by side [n, anchors, 4 + classes].
 */
function outputOf(model: AnyNetwork, x: tf.Tensor4D): tf.Tensor {
  return model instanceof DetectionModel ? model.joined(x, { training: false }) : model.forward(x, { training: false });
}
