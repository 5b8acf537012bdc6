// The one device choice of the CLI and the studio: the names, what `auto` means, measuring, and opening.
// `auto` means one thing everywhere: for a training of a variant and size, the device that measured fastest on
// this machine (auto.ts measures and keeps the table in the speeds file, so a machine is measured once per model
// and size and read back after); for other work, and wherever measuring is off (MOBILEVIT_BACKEND pins a backend,
// MOBILEVIT_AUTO_MEASURE=off, as the tests run), the fastest in-process backend. How a page opens (headless
// Chromium, Electron's hidden window) and how a device is measured (train/speed.ts) are handed in (DeviceDeps):
// this module knows neither the host nor training.
import { BackendError, initBackend } from '../backend/index.ts';
import type { BackendReport } from '../backend/report.ts';
import { DEVICE_NAMES, PAGE_BACKENDS, isPageBackend, isWorkerBackend, type PageBackend } from '../backend/names.ts';
import { chooseByMeasurement, type AutoChoice } from './auto.ts';
import { MEASURE_BATCH, type MachineFacts, type SpeedSpec, type SpeedStore } from './choose.ts';
import { LocalDevice, type ComputeDevice } from './device.ts';
import { WORKERS_DEVICE, openWorkerDevice } from './parallel.ts';
import type { VariantName } from '../model/registry/index.ts';

export type DeviceChoice = (typeof DEVICE_NAMES)[number] | 'auto';

export interface PageOpenOptions {
  /** Where the page's own variables (CHROMIUM_PATH) are read. */
  env: Record<string, string | undefined>;
  /** Progress while the page starts (building it, launching the browser, a slow start's steps). */
  onNote?: (note: string) => void;
  /** Cancels the start (its browser or window is closed). */
  signal?: AbortSignal;
}

/** Opens a page backend: headless Chromium (src/device/chromium.ts) or Electron's hidden window. */
export type PageDeviceOpener = (backend: PageBackend, opts: PageOpenOptions) => Promise<ComputeDevice>;

/** What the choice needs from its host; src/engine/devices.ts deviceDeps() gives the real ones. */
export interface DeviceDeps {
  openPage: PageDeviceOpener;
  /** The data-parallel worker device; `auto` measures it only where this is given (more than one core). */
  openWorkers?: () => Promise<ComputeDevice>;
  /** Training images per second of a device on `spec` (tests: made up). */
  measure: (device: ComputeDevice, spec: SpeedSpec, signal: AbortSignal | undefined) => Promise<number>;
  facts: () => MachineFacts;
  env: Record<string, string | undefined>;
}

/** The device a name asks for: --backend (or the Settings' choice), else MOBILEVIT_BACKEND, else 'auto'. */
export function parseDeviceChoice(requested: string | undefined, env: Record<string, string | undefined>): DeviceChoice {
  const fromArg = requested?.trim();
  const raw = (fromArg || env.MOBILEVIT_BACKEND?.trim() || 'auto').toLowerCase();
  if (raw !== 'auto' && !(DEVICE_NAMES as readonly string[]).includes(raw)) {
    throw new BackendError(`unknown ${fromArg ? 'backend' : 'MOBILEVIT_BACKEND'} "${raw}": valid names are ${[...DEVICE_NAMES, 'auto'].join(', ')}`);
  }
  return raw as DeviceChoice;
}

/** MOBILEVIT_AUTO_MEASURE=off (or 0, false, no): nothing is measured, devices nor a quick run's runtimes (the tests run so). */
export function measuringOff(env: Record<string, string | undefined>): boolean {
  return /^(0|off|false|no)$/i.test(env.MOBILEVIT_AUTO_MEASURE?.trim() ?? '');
}

/** Whether `auto` measures: not when MOBILEVIT_BACKEND pins the backend, nor with MOBILEVIT_AUTO_MEASURE=off. */
export function autoMeasures(env: Record<string, string | undefined>): boolean {
  return !env.MOBILEVIT_BACKEND?.trim() && !measuringOff(env);
}

export interface ChosenDevice {
  device: ComputeDevice;
  /** The in-process backend: the device's own for a local device, the host's (decoding, small work) beside a page or the workers. */
  backend: BackendReport;
  /** Why this device, in a line: 'requested', auto's measured reason, or why the in-process backend. */
  reason: string;
  /** auto's table of speeds when it measured or read one; null otherwise. */
  table: AutoChoice['table'] | null;
  /** A named page or worker device that did not start (with `orInProcess`): its error; the device is the in-process backend. */
  failed?: string;
}

export interface ChooseOptions {
  deps: DeviceDeps;
  /** The training `auto` chooses for; without it (inference, inspection) `auto` is the fastest in-process backend. */
  training?: { variant: VariantName; imageSize: number };
  /** Where measurements are kept (the speeds file); with `training`. */
  store?: SpeedStore;
  /** A named page or worker device that cannot start gives the in-process backend and `failed` (the studio), instead of throwing (the CLI). */
  orInProcess?: boolean;
  signal?: AbortSignal;
  onNote?: (note: string) => void;
  onProgress?: (done: number, total: number, label: string) => void;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/**
 * The one choice: `requested` (undefined: MOBILEVIT_BACKEND, else 'auto') opened, `auto` measured for a
 * training (see the file's comment). Throws BackendError for an unknown name, MeasureCancelled when `signal`
 * stops a measurement, and a page's or the workers' own error when they cannot start (unless `orInProcess`).
 */
export async function chooseDevice(requested: string | undefined, o: ChooseOptions): Promise<ChosenDevice> {
  const env = o.deps.env;
  const name = parseDeviceChoice(requested, env);
  if (isWorkerBackend(name) || isPageBackend(name)) {
    // Beside the workers: their own backend; beside a page: the fastest in-process one (a pinned page name is no backend).
    const backend = await initBackend(isWorkerBackend(name) ? 'wasm' : 'auto', { env: { ...env, MOBILEVIT_BACKEND: undefined } });
    try {
      const device = isWorkerBackend(name)
        ? await (o.deps.openWorkers ?? (() => openWorkerDevice(env)))()
        : await o.deps.openPage(name, { env, onNote: o.onNote, signal: o.signal });
      return { device, backend, reason: 'requested', table: null };
    } catch (e) {
      if (!o.orInProcess) throw e;
      return { device: new LocalDevice(backend.name), backend, reason: `${name} cannot start`, table: null, failed: message(e) };
    }
  }
  const backend = await initBackend(requested, { env });
  if (name !== 'auto') return { device: new LocalDevice(backend.name), backend, reason: backend.reason, table: null };
  if (!o.training || !autoMeasures(env)) {
    const why = !o.training ? 'the fastest in-process backend' : 'the fastest in-process backend (measuring is off: MOBILEVIT_AUTO_MEASURE or MOBILEVIT_BACKEND)';
    return { device: new LocalDevice(backend.name), backend, reason: `auto: ${why}`, table: null };
  }
  if (!o.store) throw new Error('chooseDevice: a training choice needs the speeds store');
  const r = await probeDevices(backend.name, { ...o.training, batch: MEASURE_BATCH }, o.store, { signal: o.signal, onProgress: o.onProgress }, o.deps);
  const device = r.device ?? new LocalDevice(backend.name);
  const when = r.cached ? ` (measured ${new Date(r.table.measuredAt).toISOString().slice(0, 10)})` : '';
  return { device, backend, reason: `auto: ${r.table.reason}${when}`, table: r.table };
}

export interface ProbeOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, label: string) => void;
  remeasure?: boolean;
  lookupOnly?: boolean;
  measureSoftware?: boolean;
}

/**
 * Starts the in-process device (`local`, the backend this process selected), the workers where offered, and
 * every page backend, and chooses among them by measurement (auto.ts) on `spec`: chooseDevice's `auto`, the
 * Settings' Measure button and `mobilevit-studio devices`.
 */
export function probeDevices(local: string, spec: SpeedSpec, store: SpeedStore, o: ProbeOptions, deps: DeviceDeps): Promise<AutoChoice> {
  return chooseByMeasurement({
    spec, facts: deps.facts(), store, signal: o.signal, onProgress: o.onProgress,
    remeasure: o.remeasure, lookupOnly: o.lookupOnly, measureSoftware: o.measureSoftware,
    candidates: [
      { name: local, open: async () => new LocalDevice(local) },
      ...(deps.openWorkers ? [{ name: WORKERS_DEVICE, open: deps.openWorkers }] : []),
      ...PAGE_BACKENDS.map((b) => ({ name: b, open: () => deps.openPage(b, { env: deps.env, signal: o.signal }) })),
    ],
    measure: (device, signal) => deps.measure(device, spec, signal),
  });
}
