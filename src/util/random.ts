// Seeded random numbers for everything that must be reproducible: the validation split, the sampler's
// shuffles and resolutions, each image's augmentation, the weights' initial values and the dropout masks.
// Every stream is mixSeed(run seed, stream tag, position…): a proper mix, so neighbouring seeds and
// neighbouring positions share nothing. A run never uses Math.random (only a forward in training mode given no
// seeds, outside a run, draws its dropout masks from it, as tf.dropout would).

/** Mixes 32-bit words into one well-spread 32-bit seed (murmur3's finaliser after each word). */
export function mixSeed(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const word of words) {
    h = Math.imul(h ^ (word >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Tags of the weights' initial values (TensorFlow.js's seeded ops) and the dropout masks (model/dropout.ts); the data
 * pipeline's streams carry their own tags. */
export const STREAM = { init: 0x1417, dropout: 0xd0 } as const;

/**
 * A seed for TensorFlow.js's seeded ops (randomNormal, randomUniform) and the dropout masks. TF.js's treat 0 as
 * "no seed" and fall back to Math.random(), so the mix is never 0 (the dropout masks keep the same rule, so a
 * pass's seeds are one stream whoever draws with them).
 */
export function tfSeed(...words: number[]): number {
  return mixSeed(...words) || 1;
}

/**
 * Dropout seeds of one pass of a training step (a step goes through its batch in passes when the batch is
 * split: memory.ts, or worker threads). Pass 0's i-th draw is mix(seed, stream, step, i), the stream a step
 * of one pass always had; pass p's is mix(seed, stream, step, i, p). So a pass draws the same masks whichever
 * thread computes it.
 */
export function stepSeeds(seed: number, step: number, pass = 0): () => number {
  let i = 0;
  return pass === 0 ? () => tfSeed(seed, STREAM.dropout, step, i++) : () => tfSeed(seed, STREAM.dropout, step, i++, pass);
}

/** A 32-bit string hash (FNV-1a over UTF-16 code units), used to give each class its own stream. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A mulberry32 generator: `next()` returns a float in [0, 1). */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}
