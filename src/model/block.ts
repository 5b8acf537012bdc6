// A network is a list of blocks in order; each knows its timm name, kind and parameter count, so the
// CLI's summary, the profiler and the inspectors all walk the same list the forward pass runs.
import * as tf from '@tensorflow/tfjs';
import { dropout, linear, type Apply, type Ctx, type LinearInit } from './layers.ts';
import type { ParamStore } from './params.ts';
import type { BlockInfo, BlockKind } from './types.ts';

export interface Block {
  info: BlockInfo;
  apply: Apply<tf.Tensor4D, tf.Tensor>;
}

/** Collects blocks while a network is built, recording which parameter keys each one registered. */
export class BlockList {
  readonly blocks: Block[] = [];
  private mobilevitCount = 0;
  constructor(private readonly store: ParamStore) {}

  /** Builds one block: `build` registers its parameters and returns its apply function. */
  add(name: string, kind: BlockKind, build: (info: BlockInfo) => Apply<tf.Tensor4D, tf.Tensor>): void {
    const before = new Set(this.store.params.keys());
    const info: BlockInfo = { index: this.blocks.length, name, kind, params: 0 };
    if (kind === 'mobilevit') info.mobilevitIndex = this.mobilevitCount++;
    const apply = build(info);
    for (const [key, p] of this.store.params) if (!before.has(key) && p.trainable) info.params += p.variable.size;
    this.blocks.push({ info, apply });
  }
}

/** Global average pooling, dropout, then the classifier at `key`. */
export function classifierHead(
  store: ParamStore, key: string, cin: number, numClasses: number, rate: number, init: LinearInit,
): { pool: (x: tf.Tensor4D) => tf.Tensor2D; apply: Apply<tf.Tensor4D, tf.Tensor2D> } {
  const fc = linear(store, key, cin, numClasses, init);
  const pool = (x: tf.Tensor4D) => tf.mean(x, [1, 2]) as tf.Tensor2D;
  return { pool, apply: (x: tf.Tensor4D, ctx: Ctx) => fc(dropout(pool(x), rate, ctx), ctx) as tf.Tensor2D };
}
