// Per-block parameters, multiply-adds and output shapes, measured by running the forward pass once
// with a probe (so the numbers describe exactly what runs, including any resize in MobileViT blocks).
import * as tf from '@tensorflow/tfjs';
import type { AnyNetwork } from './networks.ts';
import type { BlockKind } from './types.ts';

export interface BlockSummary {
  name: string;
  kind: BlockKind;
  params: number;
  macs: number;
  output: number[];
}

export interface ModelSummary {
  variant: string;
  numClasses: number;
  imageSize: number;
  params: number;
  macs: number;
  blocks: BlockSummary[];
}

export function summarize(model: AnyNetwork, imageSize = 256): ModelSummary {
  const blocks: BlockSummary[] = [];
  let macs = 0;
  const x = tf.zeros([1, imageSize, imageSize, 3]) as tf.Tensor4D;
  const out = model.forward(x, {
    probe: {
      blockStart: () => { macs = 0; },
      macs: (n) => { macs += n; },
      blockEnd: (b, t) => blocks.push({ name: b.name, kind: b.kind, params: b.params, macs, output: t.shape.slice() }),
    },
  });
  tf.dispose([x, ...(out instanceof tf.Tensor ? [out] : [out.boxDeltas, out.classLogits])]);
  return {
    variant: model.variant,
    numClasses: model.numClasses,
    imageSize,
    params: model.paramCount(),
    macs: blocks.reduce((a, b) => a + b.macs, 0),
    blocks,
  };
}
