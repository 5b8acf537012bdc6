// Flags and set-up that several commands share: the backend, the variant, a model from weights.
// The command registry imports this to list flags (`--help`), so TF.js and the devices load only when a
// command sets one up (a dynamic import), not with the registry.
import type { BackendReport } from '../backend/report.ts';
import { join } from 'node:path';
import { BACKEND_NAMES, DEVICE_NAMES } from '../backend/names.ts';
import type { ChosenDevice, DeviceDeps } from '../device/choice.ts';
import { DEVICE_SPEEDS_FILE } from '../device/speed-file.ts';
import type { FlagSpec, ParsedFlags } from './args.ts';
import { UsageError } from './args.ts';
import type { CliIO } from './command.ts';
import { MAX_INPUT_SIZE, MIN_INPUT_SIZE } from '../model/types.ts';
import { NETWORK_NAMES, VARIANT_NAMES, parseVariant, taskOf, type NetworkName, type VariantName } from '../model/registry/index.ts';
import { defaultWorkspace } from '../run/index.ts';

export const BACKEND_FLAG: FlagSpec = { type: 'string', description: `${BACKEND_NAMES.join(' | ')} (default: fastest available; env MOBILEVIT_BACKEND)` };
export const JSON_FLAG: FlagSpec = { type: 'boolean', description: 'print JSON instead of a table' };
export const VARIANT_FLAG: FlagSpec = { type: 'string', description: VARIANT_NAMES.join(' | ') };
/** --variant of the commands that take any network, segmentation and detection included. */
export const NETWORK_FLAG: FlagSpec = { type: 'string', description: NETWORK_NAMES.join(' | ') };

/** --backend of the commands whose tensor work can run on a Chromium page (webgpu, webgl, wasm-threads) too. */
export const DEVICE_FLAG: FlagSpec = {
  type: 'string',
  description: `${DEVICE_NAMES.join(' | ')} (default auto: for train and resume the device measured fastest on this machine, measured once and kept in device-speeds.json, MOBILEVIT_AUTO_MEASURE=off skips it; else the fastest in-process backend; env MOBILEVIT_BACKEND). wasm-workers trains data parallel on one worker thread per core (env MOBILEVIT_WORKERS); webgpu, webgl and wasm-threads run in headless Chromium (CHROMIUM_PATH)`,
};

/** The device speeds file the app keeps in its per-user data folder (or $MOBILEVIT_WORKSPACE): the CLI shares it. */
export const defaultSpeedsFile = (env: Record<string, string | undefined> = process.env): string => join(defaultWorkspace(env), DEVICE_SPEEDS_FILE);

/** How a command's device is chosen: for a `training`, --backend auto is the device measured fastest for it. */
export interface DeviceSetup {
  training?: { variant: VariantName; imageSize: number };
  /** The choice's host (default: engine/devices.ts deviceDeps(), as the studio's engine; tests: fakes). */
  deps?: DeviceDeps;
}

/**
 * Opens the compute device --backend names through the studio's own choice (src/device/choice.ts; for a
 * `training`, 'auto' is the device measured fastest on this machine, read from the speeds file the app keeps)
 * and reports it on stderr. The caller closes it (a page device is a browser process): use withDevice.
 */
export async function setupDevice(flags: ParsedFlags, io: CliIO, setup: DeviceSetup = {}): Promise<ChosenDevice> {
  const [{ chooseDevice }, { describeDevice }, { deviceDeps }, { SpeedFile }, { formatBackendBanner }] = await Promise.all([
    import('../device/choice.ts'), import('../device/describe.ts'), import('../engine/devices.ts'), import('../device/speed-file.ts'), import('../backend/report.ts'),
  ]);
  const deps = setup.deps ?? deviceDeps();
  const chosen = await chooseDevice(flags.backend as string | undefined, {
    deps, training: setup.training, store: setup.training ? new SpeedFile(defaultSpeedsFile(deps.env)) : undefined,
    onNote: (n) => io.err(n), onProgress: (_done, _total, label) => io.err(label),
  });
  const measured = chosen.table ? ` — ${chosen.reason}` : '';
  if (chosen.device.info.host === 'this process') io.err(`${formatBackendBanner(chosen.backend)}${measured}`);
  else io.err(`device: ${describeDevice(chosen.device)}${measured}`);
  return chosen;
}

/** Runs `fn` with the device --backend names (chosen for `setup.training` when given), and closes it however `fn` ends. */
export async function withDevice<T>(flags: ParsedFlags, io: CliIO, fn: (opened: ChosenDevice) => Promise<T>, setup: DeviceSetup = {}): Promise<T> {
  const opened = await setupDevice(flags, io, setup);
  try {
    return await fn(opened);
  } finally {
    await opened.device.close();
  }
}

/** Starts the backend and reports it on stderr (stdout stays clean for JSON). */
export async function setupBackend(flags: ParsedFlags, io: CliIO): Promise<BackendReport> {
  const [{ formatBackendBanner }, { initBackend }] = await Promise.all([import('../backend/report.ts'), import('../backend/index.ts')]);
  const report = await initBackend(flags.backend as string | undefined);
  io.err(formatBackendBanner(report));
  return report;
}

export function variantFlag(flags: ParsedFlags, required = true): VariantName {
  if (flags.variant === undefined) {
    if (required) throw new UsageError(`--variant is required (${VARIANT_NAMES.join(', ')})`);
    return 'mobilevit_xxs';
  }
  try {
    return parseVariant(flags.variant as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --variant of the commands that take any network: a classifier (or its alias), or a segmentation or detection model. */
export function networkFlag(flags: ParsedFlags): NetworkName {
  const name = String(flags.variant ?? '').replace(/-/g, '_').toLowerCase();
  if (taskOf(name) && taskOf(name) !== 'classification') return name as NetworkName;
  if (flags.variant === undefined) throw new UsageError(`--variant is required (${NETWORK_NAMES.join(', ')})`);
  try {
    return parseVariant(flags.variant as string);
  } catch {
    throw new UsageError(`unknown --variant "${flags.variant}" (expected one of ${NETWORK_NAMES.join(', ')})`);
  }
}

/** --score-threshold: a probability, strictly below 1 (a threshold of 1 or more keeps nothing); undefined when not given. */
export function scoreThreshold(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new UsageError(`--score-threshold must be a number from 0 to below 1, got ${String(v)}`);
  return v;
}

/** An input side the model takes: a usage error naming the flag otherwise. */
export function inputSize(size: number, flag: string): number {
  if (size < MIN_INPUT_SIZE || size > MAX_INPUT_SIZE) throw new UsageError(`--${flag} must be between ${MIN_INPUT_SIZE} and ${MAX_INPUT_SIZE} px, got ${size}`);
  return size;
}

/** Formats rows as an aligned text table (numbers right-aligned). */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r, ri) => r.map((c, i) => (typeof rows[ri - 1]?.[i] === 'number' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export const fmtInt = (n: number) => n.toLocaleString('en-US');
export const fmtMacs = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : `${(n / 1e6).toFixed(1)} M`);
