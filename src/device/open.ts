// Opens the compute device a command or the engine asked for: an in-process backend (src/backend picks and
// loads it) or a Chromium page backend. The page lives in headless Chromium by default; the Electron engine
// replaces the opener with one that uses its hidden window (usePageDeviceOpener).
import { BackendError, initBackend, type BackendReport } from '../backend/index.ts';
import { DEVICE_NAMES, isPageBackend, isWorkerBackend, type PageBackend } from '../backend/names.ts';
import { openChromiumDevice } from './chromium.ts';
import { describeDeviceInfo } from './describe.ts';
import { LocalDevice, type ComputeDevice } from './device.ts';
import { openWorkerDevice } from './parallel.ts';

export interface OpenDeviceOptions {
  /** Where MOBILEVIT_BACKEND is read; process.env by default. */
  env?: Record<string, string | undefined>;
  /** Progress while a page device starts (building its page, launching the browser, a slow start's steps). */
  onNote?: (note: string) => void;
  /** Cancels a page device's start (its browser is closed). */
  signal?: AbortSignal;
}

export type PageDeviceOpener = (backend: PageBackend, opts: OpenDeviceOptions) => Promise<ComputeDevice>;

let pageOpener: PageDeviceOpener = (backend, opts) => openChromiumDevice(backend, { env: opts.env, onNote: opts.onNote, signal: opts.signal });

/** Where page devices open from now on (Electron's engine: its hidden window). */
export function usePageDeviceOpener(opener: PageDeviceOpener): void {
  pageOpener = opener;
}

/**
 * A page device from the current opener (headless Chromium, or Electron's hidden window), leaving this
 * process's backend as it is (openDevice selects one for the host's own work; a measurement must not switch it).
 */
export function openPage(backend: PageBackend, opts: OpenDeviceOptions = {}): Promise<ComputeDevice> {
  return pageOpener(backend, opts);
}

export interface OpenedDevice {
  device: ComputeDevice;
  /** The in-process backend: the device's own for a local device, the host's (decoding, small work) for a page. */
  backend: BackendReport;
}

/**
 * `requested` is --backend (else MOBILEVIT_BACKEND, else 'auto': the fastest in-process backend). Throws
 * BackendError with one line for an unknown name, and the opener's error for a page that cannot start.
 */
export async function openDevice(requested: string | undefined, opts: OpenDeviceOptions = {}): Promise<OpenedDevice> {
  const env = opts.env ?? process.env;
  const raw = (requested?.trim() || env.MOBILEVIT_BACKEND?.trim() || 'auto').toLowerCase();
  if (isWorkerBackend(raw)) {
    const backend = await initBackend('wasm', { env });
    return { device: await openWorkerDevice(env), backend };
  }
  if (!isPageBackend(raw)) {
    if (raw !== 'auto' && !(DEVICE_NAMES as readonly string[]).includes(raw)) {
      const where = requested?.trim() ? 'backend' : 'MOBILEVIT_BACKEND';
      throw new BackendError(`unknown ${where} "${raw}": valid names are ${[...DEVICE_NAMES, 'auto'].join(', ')}`);
    }
    const backend = await initBackend(requested, { env });
    return { device: new LocalDevice(backend.name), backend };
  }
  // The engine's own work beside the page (decoding, small tensors) takes the fastest in-process backend.
  const backend = await initBackend('auto', { env: { ...env, MOBILEVIT_BACKEND: undefined } });
  return { device: await pageOpener(raw, { ...opts, env }), backend };
}

/** One line for a user: which device computes, and where. */
export function describeDevice(device: ComputeDevice): string {
  return describeDeviceInfo(device.info);
}
