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
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`input must be [batch, height, width, 3], got [${x.shape}]`);
    if (x.shape[1] < MIN_INPUT_SIZE || x.shape[2] < MIN_INPUT_SIZE) throw new Error(`input must be at least ${MIN_INPUT_SIZE}×${MIN_INPUT_SIZE} pixels, got ${x.shape[1]}×${x.shape[2]}`);
    const ctx: Ctx = { ...opts, training: opts.training ?? false };
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      for (const { info, apply } of this.list) {
        opts.probe?.blockStart?.(info, h as tf.Tensor4D);
        h = apply(h as tf.Tensor4D, ctx);
        opts.probe?.blockEnd?.(info, h);
        if (info.name === until) break;
      }
      return h;
    });
  }

  dispose(): void {
    this.store.dispose();
  }
}
