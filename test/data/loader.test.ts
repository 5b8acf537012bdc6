import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUGMENT } from '../../src/data/augment.ts';
import { benchPipeline } from '../../src/data/bench.ts';
import { BufferPool } from '../../src/data/buffer-pool.ts';
import { cachedSize, planCache } from '../../src/data/cache.ts';
import { decodeForEval } from '../../src/data/eval-transform.ts';
import { buildEvalSet, buildTrainSet, evalBatches, trainBatches, type Batch, type TrainSet } from '../../src/data/loader.ts';
import { prefetched } from '../../src/data/prefetch.ts';
import { planEpoch, type SamplerConfig } from '../../src/data/sampler.ts';
import { scanDataset, type DatasetScan } from '../../src/data/scan.ts';
import { makeDataset } from '../helpers/dataset.ts';

let tmp: string;
let scan: DatasetScan;
let set: TrainSet;
const fixed: SamplerConfig = { baseSize: 32, batchSize: 5, multiScale: false, seed: 9 };

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'mvs-loader-'));
  await makeDataset(tmp, { classes: 3, perClass: 9, size: 40, format: 'mixed' });
  scan = await scanDataset(tmp, { valFraction: 0.25 });
  set = await buildTrainSet(scan.train, { maxTrainSize: 32 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function collect(gen: AsyncGenerator<Batch>, release = true): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of gen) {
    out.push({ ...b, x: b.x.slice() }); // keep a copy: the buffer goes back to the pool
    if (release) b.release();
  }
  return out;
}

describe('training set and cache', () => {
  it('caches every training image once, sized for the largest resolution', () => {
    expect(set.cache.length).toBe(scan.train.length);
    expect(set.cachePlan).toMatchObject({ shortSide: 37, reduced: false, overBudget: false }); // ceil(32 / 0.875)
    expect([set.cache.get(0).width, set.cache.get(0).height]).toEqual([37, 37]);
    expect([...set.labels]).toEqual(scan.train.map((e) => e.label));
  });

  it('stores images smaller to stay within a memory budget, never below the largest resolution', () => {
    const dims = Array.from({ length: 10 }, () => ({ width: 1000, height: 800 }));
    expect(cachedSize(1000, 800, 400)).toEqual({ width: 500, height: 400 });
    expect(cachedSize(100, 80, 400)).toEqual({ width: 100, height: 80 });
    const roomy = planCache(dims, 400, 1e9, 256);
    expect(roomy).toMatchObject({ shortSide: 400, reduced: false, bytes: 10 * 500 * 400 * 3 });
    const tight = planCache(dims, 400, 5e6, 256);
    expect(tight.reduced).toBe(true);
    expect(tight.shortSide).toBeLessThan(400);
    expect(tight.shortSide).toBeGreaterThanOrEqual(256);
    expect(tight.bytes).toBeLessThanOrEqual(5e6);
    expect(planCache(dims, 400, 1e5, 256)).toMatchObject({ shortSide: 256, overBudget: true });
  });
});

describe('training batches', () => {
  it('follow the sampler plan with NHWC floats in [0, 1] and matching labels and paths', async () => {
    const batches = await collect(trainBatches(set, { sampler: fixed, epoch: 0 }));
    const plan = planEpoch(fixed, 0, set.cache.length);
    expect(batches.map((b) => [...b.indices])).toEqual(plan.map((p) => p.indices));
    for (const b of batches) {
      expect(b.size).toBe(32);
      expect(b.x.length).toBe(b.labels.length * 32 * 32 * 3);
      expect(b.x.every((v) => v >= 0 && v <= 1)).toBe(true);
      b.indices.forEach((idx, j) => {
        expect(b.labels[j]).toBe(scan.train[idx].label);
        expect(b.paths[j]).toBe(scan.train[idx].path);
      });
    }
    expect(batches.map((b) => b.batchIndex)).toEqual(plan.map((_, i) => i));
  });

  it('are reproducible from the seed and differ between epochs', async () => {
    const again = await buildTrainSet(scan.train, { maxTrainSize: 32 });
    const a = await collect(trainBatches(set, { sampler: fixed, epoch: 1 }));
    const b = await collect(trainBatches(again, { sampler: fixed, epoch: 1 }));
    expect(a.map((x) => x.x)).toEqual(b.map((x) => x.x));
    const c = await collect(trainBatches(set, { sampler: fixed, epoch: 2 }));
    expect(c[0].x).not.toEqual(a[0].x);
  });

  it('give the same image the same pixels whatever batch it lands in', async () => {
    // The sampler seed also orders the epoch; a different batch size regroups the same images.
    const wide = await collect(trainBatches(set, { sampler: { ...fixed, batchSize: 8 }, epoch: 0 }));
    const narrow = await collect(trainBatches(set, { sampler: fixed, epoch: 0 }));
    const pixelsOf = (batches: Batch[], idx: number): Float32Array => {
      const b = batches.find((x) => x.indices.includes(idx))!;
      const j = b.indices.indexOf(idx);
      return b.x.subarray(j * 32 * 32 * 3, (j + 1) * 32 * 32 * 3);
    };
    for (let idx = 0; idx < set.cache.length; idx++) expect(pixelsOf(wide, idx)).toEqual(pixelsOf(narrow, idx));
  });

  it('resume at a batch index with the same batches an uninterrupted epoch has there', async () => {
    const full = await collect(trainBatches(set, { sampler: fixed, epoch: 3 }));
    const resumed = await collect(trainBatches(set, { sampler: fixed, epoch: 3, startBatch: 2 }));
    expect(resumed.map((b) => b.batchIndex)).toEqual(full.slice(2).map((b) => b.batchIndex));
    expect(resumed.map((b) => b.x)).toEqual(full.slice(2).map((b) => b.x));
    expect(() => trainBatches(set, { sampler: fixed, epoch: 3, startBatch: 99 })).toThrow(/startBatch 99/);
  });

  it('produce multi-scale batches at the planned sizes', async () => {
    const multi: SamplerConfig = { baseSize: 32, batchSize: 4, multiScale: true, seed: 4 };
    const multiSet = await buildTrainSet(scan.train, { maxTrainSize: 40 });
    const batches = await collect(trainBatches(multiSet, { sampler: multi, epoch: 0 }));
    const plan = planEpoch(multi, 0, multiSet.cache.length);
    expect(batches.map((b) => b.size)).toEqual(plan.map((p) => p.size));
    for (const b of batches) expect(b.x.length).toBe(b.labels.length * b.size * b.size * 3);
  });

  it('apply colour jitter only when asked', async () => {
    const plain = await collect(trainBatches(set, { sampler: fixed, epoch: 0 }));
    const jittered = await collect(trainBatches(set, { sampler: fixed, epoch: 0, augment: { ...DEFAULT_AUGMENT, colorJitter: 0.4 } }));
    expect(jittered[0].x).not.toEqual(plain[0].x);
    expect(jittered[0].x.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('reuse released buffers and never hand out one still held', async () => {
    const gen = trainBatches(set, { sampler: fixed, epoch: 0, prefetch: 1 });
    const first = (await gen.next()).value as Batch;
    const second = (await gen.next()).value as Batch; // first is still held: must not be reused
    expect(second.x.buffer).not.toBe(first.x.buffer);
    first.release();
    second.release();
    const third = (await gen.next()).value as Batch; // was being prepared while second was held
    const fourth = (await gen.next()).value as Batch; // taken after the releases
    expect(third.x.buffer).not.toBe(second.x.buffer);
    expect([first.x.buffer, second.x.buffer]).toContain(fourth.x.buffer);
    await gen.return(undefined);
  });
});

describe('buffer pool', () => {
  it('returns exact-length views and grows when asked for more', () => {
    const pool = new BufferPool();
    const a = pool.take(100);
    a.release();
    a.release(); // twice is harmless
    const b = pool.take(60);
    expect(b.data.length).toBe(60);
    expect(b.data.buffer).toBe(a.data.buffer);
    const c = pool.take(60);
    expect(c.data.buffer).not.toBe(b.data.buffer);
    b.release();
    const d = pool.take(200);
    expect(d.data.length).toBe(200);
    expect(d.data.buffer).not.toBe(b.data.buffer);
  });
});

describe('prefetching', () => {
  it('prepares the next items while the consumer holds the current one, in order', async () => {
    const started: number[] = [];
    const gen = prefetched(5, async (i) => { started.push(i); await new Promise((r) => setTimeout(r, 5)); return i * 10; }, 2);
    const got: number[] = [];
    for await (const v of gen) {
      got.push(v);
      if (v === 0) expect(started).toEqual([0, 1, 2]); // two ahead while the first is being used
    }
    expect(got).toEqual([0, 10, 20, 30, 40]);
  });

  it('surfaces a failure when its item is reached', async () => {
    const gen = prefetched(3, async (i) => { if (i === 1) throw new Error('bad batch 1'); return i; }, 2);
    expect((await gen.next()).value).toBe(0);
    await expect(gen.next()).rejects.toThrow('bad batch 1');
  });
});

describe('evaluation batches', () => {
  it('are the evaluation transform of each image, in order, the last batch smaller', async () => {
    const evalSet = await buildEvalSet(scan.val, 32);
    expect(scan.val).toHaveLength(6);
    const batches = await collect(evalBatches(evalSet, 4));
    expect(batches.map((b) => b.labels.length)).toEqual([4, 2]);
    expect(batches.flatMap((b) => b.paths)).toEqual(scan.val.map((e) => e.path));
    expect(batches.flatMap((b) => [...b.labels])).toEqual(scan.val.map((e) => e.label));
    const single = await decodeForEval(scan.val[5].path, 32);
    expect(batches[1].x.subarray(32 * 32 * 3)).toEqual(single.data);
    expect(() => evalBatches(evalSet, 0)).toThrow(/batch size/);
  });
});

describe('pipeline benchmark', () => {
  it('reports images per second for the loader alone', async () => {
    const r = await benchPipeline(scan.train, { sampler: fixed, batches: 6 });
    expect(r.batches).toBe(6);
    expect(r.images).toBeGreaterThanOrEqual(6);
    expect(r.imagesPerSecond).toBeGreaterThan(0);
    expect(r.cacheImages).toBe(scan.train.length);
    expect(r.cacheShortSide).toBe(37);
    expect(r.waitFraction).toBeUndefined();
  });

  it('measures how long a synchronous step waits for data', async () => {
    const r = await benchPipeline(scan.train, { sampler: fixed, batches: 4, simulatedStepMs: 100 });
    expect(r.waitMsPerBatch).toBeGreaterThanOrEqual(0);
    // sharp works on its thread pool during the step, so only the float conversion is left to wait for
    expect(r.waitFraction).toBeLessThan(0.5);
  });
});
