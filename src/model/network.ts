// What every network the studio builds shares, whatever its task: the parameter store (reference keys), the
// blocks in order, and the one pass over them that training, evaluation, inspection and profiling all use.
import * as tf from '@tensorflow/tfjs';
import type { Block } from './block.ts';
import type { Ctx } from './layers.ts';
import type { Param, ParamStore } from './params.ts';
import { MIN_INPUT_SIZE, type BlockInfo, type ForwardOptions } from './types.ts';

export abstract class Network {
  protected constructor(protected readonly store: ParamStore, protected readonly list: Block[]) {}

  /** Every weight and buffer by key, in registration order (= the reference's state_dict order). */
  get params(): ReadonlyMap<string, Param> {
    return this.store.params;
  }

  blocks(): BlockInfo[] {
    return this.list.map((b) => b.info);
  }

  /** Trainable parameter count (BatchNorm buffers excluded), as timm and transformers count them. */
  paramCount(): number {
    return this.store.count();
  }

  trainableVariables(): tf.Variable[] {
    return [...this.store.params.values()].filter((p) => p.trainable).map((p) => p.variable);
  }

  /** Runs the network up to and including the named block and returns that block's output. */
  forwardUntil(x: tf.Tensor4D, blockName: string, opts: ForwardOptions = {}): tf.Tensor {
    if (!this.list.some((b) => b.info.name === blockName)) {
      throw new Error(`no block "${blockName}" in ${this.describe()} (blocks: ${this.list.map((b) => b.info.name).join(', ')})`);
    }
    return this.run(x, opts, blockName);
  }

  /** The network's name in messages. */
  protected abstract describe(): string;

  protected run(x: tf.Tensor4D, opts: ForwardOptions, until?: string): tf.Tensor {
    this.checkInput(x);
    const ctx: Ctx = { ...opts, training: opts.training ?? false };
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      for (const block of this.list) {
        h = this.applyBlock(block, h as tf.Tensor4D, ctx);
        if (block.info.name === until) break;
      }
      return h;
    });
  }

  /** One block with the probe told before and after: the step of every traversal, sequential or branching. */
  protected applyBlock(block: Block, x: tf.Tensor4D, ctx: Ctx): tf.Tensor {
    ctx.probe?.blockStart?.(block.info, x);
    // A training block in a tidy of its own: its intermediate tensors go as soon as it is done, not when the whole
    // pass is, and the backward keeps only what the gradients saved (with optim/backward-release.ts, half of an XXS
    // pass's peak). Not with a probe, which may hold a block's inner tensors until the pass ends (types.ts Probe),
    // nor in inference, whose peak the inspection budget's estimate is fitted to (memory.ts).
    const y = ctx.training && !ctx.probe ? tf.tidy(() => block.apply(x, ctx)) : block.apply(x, ctx);
    ctx.probe?.blockEnd?.(block.info, y);
    return y;
  }

  /** Checks an input image batch: [B, H, W, 3], at least the smallest size. */
  protected checkInput(x: tf.Tensor4D): void {
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`input must be [batch, height, width, 3], got [${x.shape}]`);
    if (x.shape[1] < MIN_INPUT_SIZE || x.shape[2] < MIN_INPUT_SIZE) throw new Error(`input must be at least ${MIN_INPUT_SIZE}×${MIN_INPUT_SIZE} pixels, got ${x.shape[1]}×${x.shape[2]}`);
  }

  dispose(): void {
    this.store.dispose();
  }
}
