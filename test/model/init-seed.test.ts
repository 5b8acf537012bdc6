// Initial weights are a pure function of the seed, for every seed including 0 (which TensorFlow.js
// would otherwise treat as "no seed"), and neighbouring seeds share no stream.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { createModel } from '../../src/model/index.ts';
import { stateDict } from '../../src/model/weights.ts';
import { tfSeed } from '../../src/util/random.ts';

beforeAll(async () => { await initBackend('wasm'); });

function weightsOf(seed: number): Map<string, Float32Array> {
  const model = createModel('mobilevit_xxs', { numClasses: 5, seed });
  try {
    const out = new Map<string, Float32Array>();
    for (const [k, t] of stateDict(model)) out.set(k, t.data);
    return out;
  } finally {
    model.dispose();
  }
}

describe('seeded initialisation', () => {
  it.each([0, 7])('seed %i gives the same weights twice', (seed) => {
    const a = weightsOf(seed);
    const b = weightsOf(seed);
    expect(a.size).toBeGreaterThan(100);
    for (const [k, v] of a) expect(Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
  });

  it('seeds 0 and 1 share no randomly initialised tensor', () => {
    const a = weightsOf(0);
    const b = weightsOf(1);
    const k = 'stem.conv.weight';
    expect(a.get(k)![0]).not.toBe(b.get(k)![0]);
    // With seed + k streams, seed 1's first tensor was seed 0's second: no value may be shared now.
    const valuesOf0 = new Set([...a.values()].flatMap((v) => Array.from(v.slice(0, 4))).filter((x) => x !== 0 && x !== 1));
    const shared = [...b.values()].flatMap((v) => Array.from(v.slice(0, 4))).filter((x) => valuesOf0.has(x));
    expect(shared).toEqual([]);
  });

  it('never hands TensorFlow.js the seed 0', () => {
    for (let i = 0; i < 10000; i++) expect(tfSeed(0, i)).not.toBe(0);
    expect(tf.memory().numTensors).toBe(0);
  });
});
