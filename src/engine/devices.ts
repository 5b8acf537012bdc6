// The engine's compute device: one open at a time, for the backend the settings name. It is opened at init
// (the engine starts, or restarts for a new setting) and replaced by the next init; it goes with the engine
// (a headless Chromium exits when its pipe to this process closes, a hidden window when main sees the engine
// exit). Training, evaluation and inspection run on it. 'auto' starts on the fastest in-process backend; the first
// training of a variant and size then measures every device (src/device/auto.ts, answered from the speeds
// file when this machine was measured before) and moves to the fastest. So does the Settings' Measure button.
import { initBackend, formatBackendBanner, type BackendReport as Selected } from '../backend/index.ts';
import { PAGE_BACKENDS, isPageBackend, isWorkerBackend } from '../backend/names.ts';
import { chooseByMeasurement, type AutoChoice } from '../device/auto.ts';
import { MEASURE_BATCH, MeasureCancelled, isGpuDevice, type MachineFacts, type SpeedSpec, type SpeedStore } from '../device/choose.ts';
import { LocalDevice, type ComputeDevice } from '../device/device.ts';
import { openPage, type PageDeviceOpener } from '../device/open.ts';
import { WORKERS_DEVICE, openWorkerDevice, workersOff } from '../device/parallel.ts';
import { availableParallelism } from 'node:os';
import type { VariantName } from '../model/registry/index.ts';
import type { BackendChoice, BackendReport, DeviceSpeeds } from '../protocol/contract.ts';
import { measureSpeed } from '../train/speed.ts';
import { toContractReport } from './backend.ts';
import { SpeedFile, machineFacts } from './device-speeds.ts';

/** Classes of the measured head: a sliver of the work at any count. */
const MEASURE_CLASSES = 10;

export interface DeviceDeps {
  openPage: PageDeviceOpener;
  /** The data-parallel worker device (wasm-workers); 'auto' measures it only where this is given (more than one core). */
  openWorkers?: () => Promise<ComputeDevice>;
  /** Images/s of a device (tests: made up). */
  measure?: (device: ComputeDevice, spec: SpeedSpec, signal: AbortSignal | undefined) => Promise<number>;
  facts: () => MachineFacts;
  env: Record<string, string | undefined>;
}

export interface MeasureCallOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, label: string) => void;
  /** The engine moved to another device: the new report (the service shows it). */
  onChange?: (report: BackendReport) => void;
}

function memoryStore(): SpeedStore {
  const m = new Map<string, DeviceSpeeds>();
  return { get: (k) => m.get(k) ?? null, put: (k, t) => void m.set(k, t) };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

export class EngineDevices {
  private choice: BackendChoice = 'auto';
  private slot: { device: ComputeDevice; report: BackendReport } | null = null;
  /** The in-process backend (the device's own, or the host's beside a page). */
  private local: Selected | null = null;
  private store: SpeedStore = memoryStore();
  /** What measurement chose per variant and size in this engine: the next run of it needs no probing. */
  private readonly picked = new Map<string, string>();

  constructor(private readonly deps: DeviceDeps = defaultDeps()) {}

  get report(): BackendReport | null {
    return this.slot?.report ?? null;
  }

  /**
   * Whether 'auto' measures: not when MOBILEVIT_BACKEND pins the backend (as 'auto' always deferred to it), nor
   * with MOBILEVIT_AUTO_MEASURE=off (no browser is started: the fastest in-process backend, as before devices).
   */
  private get measures(): boolean {
    const off = /^(0|off|false|no)$/i.test(this.deps.env.MOBILEVIT_AUTO_MEASURE?.trim() ?? '');
    return this.choice === 'auto' && !this.deps.env.MOBILEVIT_BACKEND?.trim() && !off;
  }

  /** Opens the device for `choice`, closing the one before. A page or worker device that cannot start leaves the in-process backend, saying why. */
  async init(choice: BackendChoice, speedsFile?: string): Promise<BackendReport> {
    await this.close();
    this.choice = choice;
    this.store = speedsFile ? new SpeedFile(speedsFile) : memoryStore();
    this.picked.clear();
    if (isWorkerBackend(choice)) {
      this.local = await initBackend('wasm', { env: this.deps.env });
      return this.adoptOrLocal(choice, () => (this.deps.openWorkers ?? (() => openWorkerDevice(this.deps.env)))());
    }
    if (!isPageBackend(choice)) {
      this.local = await initBackend(choice === 'auto' ? undefined : choice, { env: this.deps.env });
      const device = new LocalDevice(this.local.name);
      return this.adopt(device, formatBackendBanner(this.local));
    }
    // The engine's own work beside the page (decoding, small tensors) takes the fastest in-process backend.
    this.local = await initBackend('auto', { env: { ...this.deps.env, MOBILEVIT_BACKEND: undefined } });
    return this.adoptOrLocal(choice, () => this.deps.openPage(choice, { env: this.deps.env }));
  }

  /** Adopts the device `open` gives for the Settings' `choice`; one that cannot start leaves the in-process backend, saying why. */
  private async adoptOrLocal(choice: BackendChoice, open: () => Promise<ComputeDevice>): Promise<BackendReport> {
    try {
      return this.adopt(await open(), `${choice}: chosen in Settings`);
    } catch (e) {
      const local = this.local!;
      const why = `${choice} was chosen but cannot start (${message(e)}): computing on ${local.name} in this process instead`;
      const report = this.adopt(new LocalDevice(local.name), why);
      report.tried.unshift({ name: choice, ok: false, detail: message(e) });
      return report;
    }
  }

  /** The open device (opening 'auto' if init has not run: a handler called on its own, as in tests). */
  async current(): Promise<ComputeDevice> {
    if (!this.slot) await this.init(this.choice);
    return this.slot!.device;
  }

  /**
   * The device a run of `variant` at `imageSize` trains on: with 'auto', the fastest by measurement (measuring
   * when this machine has no table for them). Never throws: a cancelled or failed choice keeps the open device
   * (a cancelled run then stops in its preparation, as a stop there does).
   */
  async forTraining(spec: { variant: VariantName; imageSize: number }, o: MeasureCallOptions = {}): Promise<ComputeDevice> {
    const device = await this.current();
    if (!this.choosesFor(spec)) return device;
    const key = `${spec.variant}@${spec.imageSize}`;
    try {
      const r = await this.choose({ ...spec, batch: MEASURE_BATCH }, o, false);
      await this.take(r, key, o);
    } catch (e) {
      if (!(e instanceof MeasureCancelled)) console.error(`engine: measuring the devices failed, training on ${device.info.name}: ${message(e)}`);
    }
    return this.slot!.device;
  }

  /** Whether forTraining would choose (start devices, maybe measure) rather than answer the open device. */
  choosesFor(spec: { variant: VariantName; imageSize: number }): boolean {
    return this.measures && this.picked.get(`${spec.variant}@${spec.imageSize}`) !== this.slot?.device.info.name;
  }

  /** Measures every device again (the Measure button); with 'auto', the engine moves to the fastest. */
  async measure(spec: { variant: VariantName; imageSize: number }, o: MeasureCallOptions = {}): Promise<DeviceSpeeds> {
    await this.current();
    const r = await this.choose({ ...spec, batch: MEASURE_BATCH }, o, true);
    if (this.measures) await this.take(r, `${spec.variant}@${spec.imageSize}`, o);
    else await r.device?.close();
    return r.table;
  }

  async close(): Promise<void> {
    const slot = this.slot;
    this.slot = null;
    await slot?.device.close().catch(() => undefined);
  }

  private choose(spec: SpeedSpec, o: MeasureCallOptions, remeasure: boolean): Promise<AutoChoice> {
    return probeDevices(this.local!.name, spec, this.store, { ...o, remeasure }, this.deps);
  }

  /** Moves to the measured winner (closing the device before) and says so. */
  private async take(r: AutoChoice, key: string, o: MeasureCallOptions): Promise<void> {
    if (!r.device) return;
    const old = this.slot?.device;
    const report = this.adopt(r.device, `auto: ${r.table.reason}${r.cached ? ` (measured ${new Date(r.table.measuredAt).toISOString().slice(0, 10)})` : ''}`);
    this.picked.set(key, r.device.info.name);
    await old?.close().catch(() => undefined);
    o.onChange?.(report);
  }

  private adopt(device: ComputeDevice, reason: string): BackendReport {
    const base = toContractReport(this.local!);
    const { name, host, adapter, software } = device.info;
    const report: BackendReport = host === 'this process'
      ? { ...base, reason }
      : { active: name, gpu: isGpuDevice(device.info) && !software, reason, tried: [...base.tried, { name, ok: true, detail: `in ${host}${adapter ? ` (${adapter})` : ''}` }] };
    report.device = { name, host, adapter, software };
    this.slot = { device, report };
    return report;
  }
}

export interface ProbeOptions extends MeasureCallOptions {
  remeasure?: boolean;
  lookupOnly?: boolean;
  measureSoftware?: boolean;
}

/**
 * Starts the in-process device (`local`, the backend this process selected) and every page backend, and
 * chooses among them by measurement (src/device/auto.ts) on `spec`. The engine and `mobilevit-studio devices`.
 */
export function probeDevices(local: string, spec: SpeedSpec, store: SpeedStore, o: ProbeOptions = {},
  deps: DeviceDeps = defaultDeps()): Promise<AutoChoice> {
  // A warm-up step (kernels built, shaders compiled, the heap grown), then two timed optimizer steps, each one
  // device call timed from here: what a run on that device waits for, the batch's round trip included. The
  // same measurement as `bench` (train/speed.ts).
  const measure = deps.measure ?? (async (device, s, signal) => (await measureSpeed({
    variant: s.variant, mode: 'training', imageSize: s.imageSize, batchSize: s.batch, runs: 2, warmup: 1, numClasses: MEASURE_CLASSES, signal,
  }, undefined, device)).imagesPerSec);
  return chooseByMeasurement({
    spec, facts: deps.facts(), store, signal: o.signal, onProgress: o.onProgress,
    remeasure: o.remeasure, lookupOnly: o.lookupOnly, measureSoftware: o.measureSoftware,
    candidates: [
      { name: local, open: async () => new LocalDevice(local) },
      ...(deps.openWorkers ? [{ name: WORKERS_DEVICE, open: deps.openWorkers }] : []),
      ...PAGE_BACKENDS.map((b) => ({ name: b, open: () => deps.openPage(b, { env: deps.env, signal: o.signal }) })),
    ],
    measure: (device, signal) => measure(device, spec, signal),
  });
}

/** The real openers; the worker device only where there is more than one core to spread over. */
function defaultDeps(): DeviceDeps {
  const env = process.env;
  const offered = availableParallelism() > 1 && !workersOff(env);
  return { openPage, facts: machineFacts, env, openWorkers: offered ? () => openWorkerDevice(env) : undefined };
}

/** The engine's one. */
export const engineDevices = new EngineDevices();
