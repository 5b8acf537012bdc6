// The engine's compute device: one open at a time, for the backend the settings name, chosen through the one
// device choice of the CLI and the studio (src/device/choice.ts). It is opened at init (the engine starts, or
// restarts for a new setting) and replaced by the next init; it goes with the engine (a headless Chromium exits
// when its pipe to this process closes, a hidden window when main sees the engine exit). Training, evaluation and
// inspection run on it. 'auto' starts on the fastest in-process backend; the first training of a variant and
// size then chooses by measurement (answered from the speeds file when this machine was measured before) and
// moves to the winner. So does the Settings' Measure button. deviceDeps() is the real host for both.
import { availableParallelism } from 'node:os';
import { formatBackendBanner, type BackendReport as Selected } from '../backend/report.ts';
import { openChromiumDevice } from '../device/chromium.ts';
import { autoMeasures, chooseDevice, probeDevices, type ChosenDevice, type DeviceDeps, type PageDeviceOpener } from '../device/choice.ts';
import { MEASURE_BATCH, MeasureCancelled, isGpuDevice, type SpeedStore } from '../device/choose.ts';
import type { ComputeDevice } from '../device/device.ts';
import { openWorkerDevice, workersOff } from '../device/parallel.ts';
import { SpeedFile, machineFacts } from '../device/speed-file.ts';
import type { VariantName } from '../model/registry/index.ts';
import type { BackendChoice, BackendReport, DeviceSpeeds } from '../protocol/contract.ts';
import { keepRuntimesBeside } from '../train/feature-runtime.ts';
import { measureSpeed } from '../train/speed.ts';
import { toContractReport } from './backend.ts';

/** Classes of the measured head: a sliver of the work at any count. */
const MEASURE_CLASSES = 10;

/**
 * The real host of the device choice, for the engine and the CLI alike: pages in headless Chromium unless
 * `openPage` says otherwise (Electron's engine: its hidden windows), the worker device only where there is more
 * than one core to spread over, and the measurement of `bench` (train/speed.ts): a warm-up step (kernels built,
 * shaders compiled, the heap grown), then two timed optimizer steps, each one device call timed from here.
 */
export function deviceDeps(o: { openPage?: PageDeviceOpener; env?: Record<string, string | undefined> } = {}): DeviceDeps {
  const env = o.env ?? process.env;
  const offered = availableParallelism() > 1 && !workersOff(env);
  return {
    env,
    openPage: o.openPage ?? ((backend, opts) => openChromiumDevice(backend, opts)),
    openWorkers: offered ? () => openWorkerDevice(env) : undefined,
    facts: machineFacts,
    measure: async (device, s, signal) => (await measureSpeed({
      variant: s.variant, mode: 'training', imageSize: s.imageSize, batchSize: s.batch, runs: 2, warmup: 1, numClasses: MEASURE_CLASSES, signal,
    }, undefined, device)).imagesPerSec,
  };
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
  /** The in-process backend (the device's own, or the host's beside a page or the workers). */
  private local: Selected | null = null;
  private store: SpeedStore = memoryStore();
  /** What measurement chose per variant and size in this engine: the next run of it needs no probing. */
  private readonly picked = new Map<string, string>();

  /** `deps`: deviceDeps() (headless Chromium pages), or with Electron's hidden-window opener. */
  constructor(private readonly deps: DeviceDeps) {}

  get report(): BackendReport | null {
    return this.slot?.report ?? null;
  }

  /** Whether 'auto' measures (choice.ts autoMeasures: not when MOBILEVIT_BACKEND pins, nor MOBILEVIT_AUTO_MEASURE=off). */
  private get measures(): boolean {
    return this.choice === 'auto' && autoMeasures(this.deps.env);
  }

  /** Opens the device for `choice`, closing the one before. A page or worker device that cannot start leaves the in-process backend, saying why. */
  async init(choice: BackendChoice, speedsFile?: string): Promise<BackendReport> {
    await this.close();
    this.choice = choice;
    this.store = speedsFile ? new SpeedFile(speedsFile) : memoryStore();
    keepRuntimesBeside(speedsFile); // the inference runtime rule's choices go beside the speeds, where the service reads them
    this.picked.clear();
    const r = await chooseDevice(choice === 'auto' ? undefined : choice, { deps: this.deps, orInProcess: true });
    this.local = r.backend;
    if (r.failed !== undefined) {
      const why = `${choice} was chosen but cannot start (${r.failed}): computing on ${r.backend.name} in this process instead`;
      const report = this.adopt(r.device, why);
      report.tried.unshift({ name: choice, ok: false, detail: r.failed });
      return report;
    }
    return this.adopt(r.device, r.device.info.host === 'this process' ? formatBackendBanner(r.backend) : `${r.device.info.name}: ${choice === 'auto' ? 'from MOBILEVIT_BACKEND' : 'chosen in Settings'}`);
  }

  /** The open device (opening 'auto' if init has not run: a handler called on its own, as in tests). */
  async current(): Promise<ComputeDevice> {
    if (!this.slot) await this.init(this.choice);
    return this.slot!.device;
  }

  /**
   * The device a run of `variant` at `imageSize` trains on: with 'auto', the one chooseDevice measures fastest
   * (measuring when this machine has no table for them). Never throws: a cancelled or failed choice keeps the open
   * device (a cancelled run then stops in its preparation, as a stop there does).
   */
  async forTraining(spec: { variant: VariantName; imageSize: number }, o: MeasureCallOptions = {}): Promise<ComputeDevice> {
    const device = await this.current();
    if (!this.choosesFor(spec)) return device;
    try {
      const r = await chooseDevice(undefined, { deps: this.deps, training: spec, store: this.store, signal: o.signal, onProgress: o.onProgress });
      await this.take(r, `${spec.variant}@${spec.imageSize}`, o);
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
    const r = await probeDevices(this.local!.name, { ...spec, batch: MEASURE_BATCH }, this.store, { ...o, remeasure: true }, this.deps);
    if (!this.measures) {
      await r.device?.close();
      return r.table;
    }
    if (r.device) await this.take({ device: r.device, backend: this.local!, reason: `auto: ${r.table.reason}`, table: r.table }, `${spec.variant}@${spec.imageSize}`, o);
    return r.table;
  }

  async close(): Promise<void> {
    const slot = this.slot;
    this.slot = null;
    await slot?.device.close().catch(() => undefined);
  }

  /** Moves to the chosen device (closing the one before) and says so. */
  private async take(r: ChosenDevice, key: string, o: MeasureCallOptions): Promise<void> {
    const old = this.slot?.device;
    this.local = r.backend;
    const report = this.adopt(r.device, r.reason);
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
