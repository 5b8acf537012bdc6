// Per-block latency of the model's own forward pass (eval mode) on the active backend. The probe
// synchronises the backend at every boundary (reading one element of the boundary tensor waits for all
// queued work), so each block, each MobileViT part and each transformer layer is charged the time
// from the previous boundary to its own. The end-to-end latency is measured on the same input without
// the probe, interleaved with the probed runs so that both see the same machine state.
//
// On a GPU backend (webgl) a boundary's read-back is a real round trip: it drains the queue and waits for the
// copy, so its cost lands in the block it ends. That cost is measured on its own (a sync with nothing queued)
// and reported with the number of syncs per pass, so a reader can tell compute from synchronisation; the
// end-to-end time is measured without any. Where a synchronous read does not wait (webgpu), profile-cuts.ts
// times the same boundaries another way.
import * as tf from '@tensorflow/tfjs';
import { DetectionModel } from '../model/detection.ts';
import type { AnyNetwork } from '../model/networks.ts';
import { blockLabel } from '../model/registry/labels.ts';
import type { Probe } from '../model/types.ts';
import type { ProfileResult } from '../protocol/contract.ts';
import { imageTensor, randomImage } from './tensor-image.ts';
import { median } from '../util/median.ts';

/** The result is the contract's ProfileResult: what the CLI prints and the UI shows. */
export type Profile = ProfileResult;
export type BlockTiming = Profile['blocks'][number];
export type PartTiming = BlockTiming['parts'][number];

export interface ProfileOptions {
  imageSize?: number;
  batch?: number;
  runs?: number;
  warmup?: number;
  seed?: number;
  /**
   * Milliseconds from an arbitrary origin; wall time by default. A process CPU-time clock measures the
   * same work on a loaded machine without the time other processes take (single-threaded backends only).
   */
  clock?: () => number;
  /** Called after each warm-up and measured pass. */
  onProgress?: (done: number, total: number) => void;
}

/** One probed forward pass: every block's time, its parts and layers, and its multiply-adds. */
export interface Sample {
  ms: number;
  macs: number;
  /** Each part's time, in the order the pass ran them (a MobileViT block's, DeepLabv3's ASPP branches). */
  parts: Map<string, number>;
  layers: number[];
}

/**
 * One inference pass's output as one tensor, whatever the network: a classifier's logits, a segmentation network's
 * logits at 1/16, a detector's deltas and logits side by side (DetectionModel.joined).
 */
export function passOutput(model: AnyNetwork, x: tf.Tensor4D, probe?: Probe): tf.Tensor {
  return model instanceof DetectionModel ? model.joined(x, { probe }) : model.forward(x, { probe });
}

/** The first element of `t`: what a boundary reads back. */
export const firstElement = (t: tf.Tensor): tf.Tensor => tf.slice(t, new Array(t.rank).fill(0), new Array(t.rank).fill(1));

function sync(t: tf.Tensor): void {
  const one = firstElement(t);
  one.dataSync();
  one.dispose();
}

/**
 * A probe that charges every boundary of one forward pass into `out` (one Sample per block, in order); `mark`
 * gives a boundary's time, in the order blockStart, partEnd…, layerEnd…, blockEnd (profile-cuts.ts replays it).
 */
export function timingProbe(out: Sample[], mark: (t: tf.Tensor) => number): Probe {
  let blockStart = 0;
  let partStart = 0;
  let layerStart = 0;
  let current: Sample | undefined;
  return {
    blockStart(_info, input) {
      blockStart = partStart = mark(input);
      current = { ms: 0, macs: 0, parts: new Map(), layers: [] };
    },
    partEnd(_info, part, output) {
      const now = mark(output);
      current!.parts.set(part, now - partStart);
      partStart = layerStart = now;
    },
    layerEnd(_info, layer, output) {
      const now = mark(output);
      current!.layers[layer] = now - layerStart;
      layerStart = now;
    },
    macs(count) {
      current!.macs += count;
    },
    blockEnd(_info, output) {
      current!.ms = mark(output) - blockStart;
      out.push(current!);
    },
  };
}


function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** The checked sizes of a profile and its seeded random input batch (the caller disposes it). */
export function profileInput(opts: ProfileOptions) {
  const imageSize = positiveInt('image size', opts.imageSize ?? 256, 32);
  const batch = positiveInt('batch', opts.batch ?? 1);
  const runs = positiveInt('runs', opts.runs ?? 10);
  const warmup = positiveInt('warmup', opts.warmup ?? 2, 0);
  const single = imageTensor(randomImage(imageSize, opts.seed ?? 0));
  const x = tf.tile(single, [batch, 1, 1, 1]) as tf.Tensor4D;
  single.dispose();
  return { imageSize, batch, runs, warmup, x };
}

/** The profile from every run's samples (medians per block, part and layer) and end-to-end times. */
export function summarise(model: AnyNetwork, shape: { imageSize: number; batch: number; runs: number }, totals: number[], perRun: Sample[][],
  timing: NonNullable<Profile['timing']>): Profile {
  const timings = model.blocks().map((info, b): BlockTiming => {
    const samples = perRun.map((r) => r[b]);
    const parts = [...samples[0].parts.keys()].map((name): PartTiming => {
      const ms = median(samples.map((s) => s.parts.get(name)!));
      if (name !== 'transformer' || info.kind !== 'mobilevit') return { name, ms };
      const layers = samples[0].layers.map((_, l) => median(samples.map((s) => s.layers[l])));
      return { name, ms, layers };
    });
    const label = blockLabel(model.variant, info.name);
    return { name: info.name, ...(label === undefined ? {} : { label }), kind: info.kind, ms: median(samples.map((s) => s.ms)), params: info.params, macs: samples[0].macs, parts };
  });
  return {
    variant: model.variant,
    backend: tf.getBackend(),
    ...shape,
    totalMs: median(totals),
    blocksMs: timings.reduce((s, t) => s + t.ms, 0),
    params: model.paramCount(),
    macs: timings.reduce((s, t) => s + t.macs, 0),
    blocks: timings,
    timing,
  };
}

/** Profiles `model` on a seeded random batch: `warmup` unmeasured passes, then the median of `runs`. */
export function profileModel(model: AnyNetwork, opts: ProfileOptions = {}): Profile {
  const { imageSize, batch, runs, warmup, x } = profileInput(opts);
  const clock = opts.clock ?? (() => performance.now());
  const plain = (): number => {
    const start = clock();
    const y = passOutput(model, x);
    y.dataSync();
    const ms = clock() - start;
    y.dispose();
    return ms;
  };
  let syncs = 0;
  const mark = (t: tf.Tensor) => (sync(t), syncs++, clock());
  const probed = (): Sample[] => {
    const samples: Sample[] = [];
    syncs = 0;
    passOutput(model, x, timingProbe(samples, mark)).dispose();
    return samples;
  };
  // One boundary's synchronisation with nothing queued: the slice kernel and 1-element read-back of a pass's
  // output, already computed. (Not of the input: on a GPU its slice is a shader no boundary uses, and the
  // first use of a shader compiles it.)
  const idleSyncs = (n: number): number[] => {
    const y = passOutput(model, x);
    try {
      sync(y);
      return Array.from({ length: n }, () => {
        const start = clock();
        sync(y);
        return clock() - start;
      });
    } finally {
      y.dispose();
    }
  };
  try {
    const progress = (done: number) => opts.onProgress?.(done, warmup + runs);
    for (let i = 0; i < warmup; i++) (plain(), probed(), progress(i + 1));
    const totals: number[] = [];
    const perRun: Sample[][] = [];
    for (let i = 0; i < runs; i++) {
      totals.push(plain());
      perRun.push(probed());
      progress(warmup + i + 1);
    }
    const syncMs = median(idleSyncs(Math.max(5, runs)));
    return summarise(model, { imageSize, batch, runs }, totals, perRun, { method: 'sync', syncMs, syncs });
  } finally {
    x.dispose();
  }
}
