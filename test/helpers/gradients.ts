// Checks shared by the tests that train a network one step: every trainable parameter's gradient is finite and
// not all zero, and the step leaves no tensor behind.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/**
 * Takes one SGD step with `loss` (timm zero-initialises the residual blocks' last BatchNorm, which zeroes their
 * earlier gradients until a step has moved it), then checks the next step's gradients. Parameters whose name
 * matches `exempt` may have an all-zero gradient by construction.
 */
export function expectEveryGradientAfterOneStep(vars: tf.Variable[], loss: () => tf.Scalar, exempt?: RegExp): void {
  const step = () => tf.variableGrads(loss, vars);
  const first = step();
  const sgd = tf.train.sgd(0.05);
  sgd.applyGradients(first.grads);
  tf.dispose([first.value, ...Object.values(first.grads)]);
  const before = tf.memory().numTensors;
  const { value, grads } = step();
  expect(Number.isFinite(value.dataSync()[0])).toBe(true);
  for (const v of vars) {
    const g = grads[v.name].dataSync();
    expect(g.every(Number.isFinite), v.name).toBe(true);
    if (!exempt?.test(v.name.replace(/^m\d+\//, ''))) expect(g.some((e) => e !== 0), `${v.name} has an all-zero gradient`).toBe(true);
  }
  tf.dispose([value, ...Object.values(grads)]);
  expect(tf.memory().numTensors).toBe(before);
  sgd.dispose();
}

/** PyTorch's F.interpolate(mode='bilinear', align_corners=False) on one channel, written out. */
export function torchBilinear(src: number[][], oh: number, ow: number): number[][] {
  const ih = src.length, iw = src[0].length;
  const coord = (o: number, scale: number, n: number) => {
    const x = Math.max(0, (o + 0.5) * scale - 0.5);
    const i0 = Math.min(Math.floor(x), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    return [i0, i1, x - i0] as const;
  };
  return Array.from({ length: oh }, (_, y) => Array.from({ length: ow }, (_, x) => {
    const [y0, y1, dy] = coord(y, ih / oh, ih);
    const [x0, x1, dx] = coord(x, iw / ow, iw);
    return (1 - dy) * ((1 - dx) * src[y0][x0] + dx * src[y0][x1]) + dy * ((1 - dx) * src[y1][x0] + dx * src[y1][x1]);
  }));
}
