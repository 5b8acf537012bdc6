// Per-block latency where a synchronous read does not wait for the device: on webgpu TF.js reads synchronously
// through canvases, which SwiftShader's WebGPU (Chromium 150) answers at once, with zeros, while the GPU is still
// working; its time would be the time to dispatch. Here the pass is cut at each boundary in turn: a probe keeps a
// 1-element slice of the boundary's tensor and stops the pass there (nothing after it is dispatched), and the time
// from the pass's start until that slice's asynchronous read-back resolves is the boundary's time T_k. A block,
// part or layer is charged T_k − T_(k−1): the read-back's latency, in both, cancels out, and nothing stalls the
// pass midway. The price is a pass per boundary, half a full pass on average.
import * as tf from '@tensorflow/tfjs';
import type { AnyNetwork } from '../model/networks.ts';
import type { Probe } from '../model/types.ts';
import { median } from '../util/median.ts';
import { firstElement, passOutput, profileInput, summarise, timingProbe, type Profile, type ProfileOptions, type Sample } from './profile.ts';

/** The probe calls of one pass, in order, as timingProbe receives them (tensors replaced by their ids). */
type Call =
  | { kind: 'blockStart' | 'blockEnd'; args: [Parameters<NonNullable<Probe['blockEnd']>>[0]] }
  | { kind: 'partEnd'; args: [Parameters<NonNullable<Probe['partEnd']>>[0], Parameters<NonNullable<Probe['partEnd']>>[1]] }
  | { kind: 'layerEnd'; args: [Parameters<NonNullable<Probe['layerEnd']>>[0], number] }
  | { kind: 'macs'; args: [number] };

/** A probe that calls `at(tensor)` at every boundary, in timingProbe's order. */
function boundaries(at: (t: tf.Tensor) => void, calls?: Call[]): Probe {
  return {
    blockStart: (info, t) => (calls?.push({ kind: 'blockStart', args: [info] }), at(t)),
    partEnd: (info, part, t) => (calls?.push({ kind: 'partEnd', args: [info, part] }), at(t)),
    layerEnd: (info, layer, t) => (calls?.push({ kind: 'layerEnd', args: [info, layer] }), at(t)),
    blockEnd: (info, t) => (calls?.push({ kind: 'blockEnd', args: [info] }), at(t)),
    macs: (count) => void calls?.push({ kind: 'macs', args: [count] }),
  };
}

/** Thrown by the cutting probe: the pass stops at the boundary being timed. */
const CUT = Symbol('cut');
const NO_TENSOR = null as unknown as tf.Tensor;

/** Profiles `model` like profileModel (same input, warm-up, runs and result), timing each boundary by a cut. */
export async function profileModelByCuts(model: AnyNetwork, opts: ProfileOptions = {}): Promise<Profile> {
  const { imageSize, batch, runs, warmup, x } = profileInput(opts);
  const clock = opts.clock ?? (() => performance.now());
  try {
    // The boundaries once, in order, with the tensor at each (a block's input is the previous block's output:
    // its cut would time the same prefix again, so it takes that time). This pass also dispatches every
    // boundary's slice, so their shaders are compiled before anything is timed.
    const calls: Call[] = [];
    const ids: number[] = [];
    const first = passOutput(model, x, boundaries((t) => { ids.push(t.id); tf.dispose(firstElement(t)); }, calls));
    await first.data();
    first.dispose();
    const plain = async (): Promise<number> => {
      const start = clock();
      const y = passOutput(model, x);
      await y.data();
      const ms = clock() - start;
      y.dispose();
      return ms;
    };
    const cutAt = async (k: number): Promise<number> => {
      let seen = 0;
      let kept: tf.Tensor | null = null;
      const start = clock();
      try {
        passOutput(model, x, boundaries((t) => { if (seen++ === k) { kept = tf.keep(firstElement(t)); throw CUT; } })).dispose();
      } catch (e) {
        if (e !== CUT) throw e;
      }
      if (!kept) throw new Error(`profile: the pass has no boundary ${k}`);
      const one: tf.Tensor = kept;
      try {
        await one.data();
        return clock() - start;
      } finally {
        one.dispose();
      }
    };
    const cuts = ids.filter((id, k) => k === 0 || id !== ids[k - 1]).length;
    const latencies: number[] = [];
    /** One timed pass per boundary: each boundary's raw cut time (a boundary equal to the previous takes its time). */
    const cutTimes = async (): Promise<number[]> => {
      const times: number[] = [];
      for (let k = 0; k < ids.length; k++) times.push(k > 0 && ids[k] === ids[k - 1] ? times[k - 1] : await cutAt(k));
      latencies.push(times[0]); // the input's read-back alone: what every cut adds
      return times;
    };
    const progress = (done: number) => opts.onProgress?.(done, warmup + runs);
    for (let i = 0; i < warmup; i++) (await plain(), await cutTimes(), progress(i + 1));
    latencies.length = 0;
    const totals: number[] = [];
    const runsTimes: number[][] = [];
    for (let i = 0; i < runs; i++) {
      totals.push(await plain());
      runsTimes.push(await cutTimes());
      progress(warmup + i + 1);
    }
    // Each boundary's median over the runs, then made monotone (a longer prefix cannot finish sooner). Clamping
    // each run before the median would ratchet every run's noise upwards: the last boundary would take the
    // largest noise of all (measured on wasm: blocks summing to 1.4× the pass; within 15 % this way).
    const times: number[] = [];
    for (let k = 0; k < ids.length; k++) times.push(Math.max(median(runsTimes.map((r) => r[k])), k > 0 ? times[k - 1] : -Infinity));
    const samples: Sample[] = [];
    let next = 0;
    const probe = timingProbe(samples, () => times[next++]);
    for (const c of calls) (probe[c.kind] as (...a: unknown[]) => void)(...c.args, NO_TENSOR);
    const perRun = [samples];
    return summarise(model, { imageSize, batch, runs }, totals, perRun, { method: 'cuts', syncMs: median(latencies), syncs: cuts });
  } finally {
    x.dispose();
  }
}
