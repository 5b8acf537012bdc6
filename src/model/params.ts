// The parameter store: every weight and BatchNorm buffer under its timm state_dict key, held in
// TensorFlow.js layout (conv HWIO, depthwise HWC1, linear [in, out]). Converting to and from
// PyTorch layout happens only in weights.ts.
import * as tf from '@tensorflow/tfjs';
import { STREAM, hashString, tfSeed } from '../util/random.ts';

/** How a tensor is laid out here, which tells weights.ts how to convert it to PyTorch's layout. */
export type Layout = 'conv' | 'dwconv' | 'linear' | 'vector';

export interface Param {
  variable: tf.Variable;
  /** False for BatchNorm running statistics (buffers). */
  trainable: boolean;
  layout: Layout;
  /** How it was initialised, so a classifier can be re-initialised for fine-tuning. */
  init: Init;
}

let storeCounter = 0;

/** Seeded initialisers, matching timm's `_init_weights` for ByobNet and EfficientNet. */
export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; limit: number };

export class ParamStore {
  readonly params = new Map<string, Param>();
  private readonly scope = `m${storeCounter++}`;
  /** Each parameter's initial value is drawn from its own stream, mix(seed, init, hash(key)): it does
   *  not depend on the order parameters are created in, and seed 0 is a seed like any other. */
  constructor(private readonly seed: number) {}

  add(key: string, shape: number[], layout: Layout, init: Init, trainable = true): tf.Variable {
    if (this.params.has(key)) throw new Error(`duplicate parameter key ${key}`);
    const value = this.initialValue(key, shape, init);
    // Variable names are global in tfjs: prefix with a per-store scope so two models can coexist.
    const variable = tf.variable(value, trainable, `${this.scope}/${key}`);
    value.dispose();
    this.params.set(key, { variable, trainable, layout, init });
    return variable;
  }

  /** Draws a fresh initial value for `key` (used to re-initialise a classifier). */
  reinit(key: string): void {
    const p = this.params.get(key);
    if (!p) throw new Error(`no parameter ${key}`);
    const value = this.initialValue(key, p.variable.shape, p.init);
    p.variable.assign(value);
    value.dispose();
  }

  private initialValue(key: string, shape: number[], init: Init): tf.Tensor {
    const seed = tfSeed(this.seed, STREAM.init, hashString(key));
    switch (init.kind) {
      case 'zeros': return tf.zeros(shape);
      case 'ones': return tf.ones(shape);
      case 'normal': return tf.randomNormal(shape, 0, init.std, 'float32', seed);
      case 'uniform': return tf.randomUniform(shape, -init.limit, init.limit, 'float32', seed);
    }
  }

  get(key: string): tf.Variable {
    const p = this.params.get(key);
    if (!p) throw new Error(`no parameter ${key}`);
    return p.variable;
  }

  /** Number of trainable scalars whose key starts with one of the prefixes (all when omitted). */
  count(prefixes?: string[]): number {
    let n = 0;
    for (const [key, p] of this.params) {
      if (!p.trainable) continue;
      if (prefixes && !prefixes.some((pre) => key === pre || key.startsWith(pre + '.'))) continue;
      n += p.variable.size;
    }
    return n;
  }

  dispose(): void {
    for (const p of this.params.values()) p.variable.dispose();
    this.params.clear();
  }
}
