// 'auto' by measurement: starts every candidate device (the in-process backend, each page backend), looks
// the machine up in the store, and when it is not there times a few training steps on each device
// (choose.ts says which are measured and which wins), stores the table, and hands back the winner open,
// every other device closed. Free of tfjs and Node: the caller passes how to open, measure and store.
import type { DeviceSpeed, DeviceSpeeds } from '../protocol/contract.ts';
import { MeasureCancelled, chooseFastest, softwareOnlyGpuRule, speedKey, type MachineFacts, type SpeedSpec, type SpeedStore } from './choose.ts';
import type { ComputeDevice } from './device.ts';

export interface Candidate {
  name: string;
  open(): Promise<ComputeDevice>;
}

export interface AutoChoiceOptions {
  spec: SpeedSpec;
  facts: MachineFacts;
  /** In the order the table lists them; the in-process one first. */
  candidates: readonly Candidate[];
  store: SpeedStore;
  /** Training images per second of one device (the engine: train/speed.ts's measureSpeed). */
  measure(device: ComputeDevice, signal: AbortSignal | undefined): Promise<number>;
  /** Measure even when the store knows this machine (the Measure button), and even a lone device. */
  remeasure?: boolean;
  /** Measure software GPU adapters even where every GPU adapter is software (choose.ts's rule). */
  measureSoftware?: boolean;
  /** Only look the machine up (`mobilevit-studio devices`): an unknown one gets a table of unmeasured rows, not stored. */
  lookupOnly?: boolean;
  signal?: AbortSignal;
  onProgress?(done: number, total: number, label: string): void;
  now?(): number;
}

export interface AutoChoice {
  /** The chosen device, open: the caller closes it. Null when no device started. */
  device: ComputeDevice | null;
  table: DeviceSpeeds;
  /** The table came from the store: nothing was measured. */
  cached: boolean;
}

interface Opened { name: string; device: ComputeDevice }

const isLocal = (d: ComputeDevice) => d.info.host === 'this process';
const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** Rejects with MeasureCancelled as soon as `signal` aborts; `p` itself goes on (the caller waits for it). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new MeasureCancelled());
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function chooseByMeasurement(o: AutoChoiceOptions): Promise<AutoChoice> {
  if (o.signal?.aborted) throw new MeasureCancelled();
  o.onProgress?.(0, 1, 'starting the devices');
  // In parallel: each page starts a browser or a window, which is mostly waiting.
  const opening = Promise.allSettled(o.candidates.map((c) => c.open()));
  let started: PromiseSettledResult<ComputeDevice>[];
  try {
    started = await untilAborted(opening, o.signal);
  } catch (e) {
    // Cancelled while starting: what starts after is closed as it comes.
    void opening.then((all) => all.forEach((s) => s.status === 'fulfilled' && void s.value.close().catch(() => undefined)));
    throw e;
  }
  const opened: Opened[] = [];
  started.forEach((s, i) => s.status === 'fulfilled' && opened.push({ name: o.candidates[i].name, device: s.value }));
  let keep: ComputeDevice | null = null;
  const inflight = { p: null as Promise<unknown> | null };
  try {
    if (o.signal?.aborted) throw new MeasureCancelled();
    const key = speedKey(o.facts, o.spec, o.candidates.map((c, i) => ({ name: c.name, info: started[i].status === 'fulfilled' ? (started[i] as PromiseFulfilledResult<ComputeDevice>).value.info : null })));
    const stored = o.remeasure ? null : o.store.get(key);
    const table = stored ?? await measureAll(o, started, opened, inflight);
    if (!stored && !o.lookupOnly) o.store.put(key, table);
    const chosen = opened.find((d) => d.name === table.chosen) ?? opened.find((d) => isLocal(d.device)) ?? opened[0] ?? null;
    keep = chosen?.device ?? null;
    return { device: keep, table, cached: stored !== null };
  } finally {
    // Pages first: closing one fails a step in flight there at once; an in-process step ends by itself.
    const rest = opened.map((d) => d.device).filter((d) => d !== keep);
    await Promise.all(rest.filter((d) => !isLocal(d)).map((d) => d.close().catch(() => undefined)));
    await inflight.p?.catch(() => undefined);
    await Promise.all(rest.filter(isLocal).map((d) => d.close().catch(() => undefined)));
  }
}

async function measureAll(o: AutoChoiceOptions, started: PromiseSettledResult<ComputeDevice>[], opened: Opened[], inflight: { p: Promise<unknown> | null }): Promise<DeviceSpeeds> {
  const skips = o.measureSoftware ? new Map<string, string>() : softwareOnlyGpuRule(opened.map((d) => d.device.info));
  const toMeasure = opened.filter((d) => !skips.has(d.name));
  // One device is the answer whatever its speed: measured only when asked to.
  const lone = toMeasure.length === 1 && !o.remeasure;
  const rows: DeviceSpeed[] = [];
  let done = 0;
  for (const [i, c] of o.candidates.entries()) {
    const s = started[i];
    if (s.status === 'rejected') {
      rows.push({ device: c.name, host: null, adapter: null, software: false, imagesPerSecond: null, note: `did not start: ${message(s.reason)}` });
      continue;
    }
    const { host, adapter, software } = s.value.info;
    const row: DeviceSpeed = { device: c.name, host, adapter, software, imagesPerSecond: null, note: skips.get(c.name) ?? null };
    rows.push(row);
    if (row.note) continue;
    if (lone || o.lookupOnly) {
      row.note = lone ? 'not measured: no other device to compare with' : 'not measured yet';
      continue;
    }
    o.onProgress?.(done, toMeasure.length, `measuring ${c.name} (${done + 1} of ${toMeasure.length})`);
    try {
      // Kept until it settles: a cancelled measurement's device is closed only after its step ends.
      const p = o.measure(s.value, o.signal);
      inflight.p = p;
      row.imagesPerSecond = await untilAborted(p, o.signal);
    } catch (e) {
      if (e instanceof MeasureCancelled || o.signal?.aborted) throw new MeasureCancelled();
      row.note = `failed: ${message(e)}`;
    }
    o.onProgress?.(++done, toMeasure.length, `measured ${c.name}`);
  }
  if (o.lookupOnly && !lone) return { ...o.spec, measuredAt: (o.now ?? Date.now)(), rows, chosen: null, reason: 'this machine has not been measured on this model and size' };
  const choice = chooseFastest(rows) ?? (lone ? { chosen: toMeasure[0].name, reason: `${toMeasure[0].name}: the only device to measure here` } : fallback(opened));
  return { ...o.spec, measuredAt: (o.now ?? Date.now)(), rows, chosen: choice?.chosen ?? null, reason: choice?.reason ?? 'no compute device started' };
}

/** Every measurement failed, or every device was skipped: the in-process device (no browser), else the first. */
function fallback(opened: Opened[]): { chosen: string; reason: string } | null {
  const pick = opened.find((d) => isLocal(d.device)) ?? opened[0];
  return pick ? { chosen: pick.name, reason: `${pick.name}: no device could be measured (see each one's note)` } : null;
}
