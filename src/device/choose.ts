// The rules 'auto' chooses a compute device by, free of tfjs and of Node (so they are tested with made-up
// timings, and read in one place): which devices are measured, which measured device wins, and what makes a
// stored measurement stale.
import type { DeviceSpeed, DeviceSpeeds } from '../protocol/contract.ts';
import type { VariantName } from '../model/registry/index.ts';
import type { DeviceInfo } from './wire.ts';

/** What is measured: `batch` images of `variant` at `imageSize` px per training step. */
export interface SpeedSpec {
  variant: VariantName;
  imageSize: number;
  batch: number;
}

/**
 * One batch for every measurement, so that tables of different runs compare and a run's batch size does not
 * re-measure the machine: large enough that a GPU is not measured on launch overhead alone, small enough that
 * a CPU path takes seconds, not minutes.
 */
export const MEASURE_BATCH = 16;

/**
 * An in-process device wins over a page device that is faster by less than this share: the page costs a
 * browser, and every batch and weight crosses a channel to reach it. The same margin keeps a CPU path over
 * a software GPU adapter that is barely faster (its speed swings with shader caches and the CPU's load).
 */
export const PREFERENCE_MARGIN = 0.1;

const GPU_BACKENDS = new Set(['webgpu', 'webgl']);
export const isGpuDevice = (info: Pick<DeviceInfo, 'tfBackend'>) => GPU_BACKENDS.has(info.tfBackend);

export const SOFTWARE_ONLY_GPU_NOTE = 'not measured: every GPU adapter here is software (minutes of shader compilation, slower than the CPU)';

/**
 * The software-only-GPU rule. On a machine where every GPU device that started (webgpu, webgl) runs on a
 * software adapter (SwiftShader, a fallback adapter), none of them is measured: their first steps compile
 * shaders on the CPU for minutes, and the CPU paths beat them anyway. Returns the devices to skip and why.
 * With one hardware adapter among them, every one is measured (and the software ones labelled).
 */
export function softwareOnlyGpuRule(infos: readonly DeviceInfo[]): Map<string, string> {
  const gpus = infos.filter(isGpuDevice);
  if (gpus.length === 0 || !gpus.every((i) => i.software)) return new Map();
  return new Map(gpus.map((i) => [i.name, SOFTWARE_ONLY_GPU_NOTE]));
}

/** How much a device is preferred at equal speed: in-process, then a page on hardware or CPU, then software. */
function preference(row: DeviceSpeed): number {
  if (row.host === 'this process') return 2;
  return row.software ? 0 : 1;
}

const speed = (v: number) => `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} images/s`;

/**
 * The choice rule: the fastest measured device, except that a more preferred device (in-process over a page,
 * a CPU or hardware GPU over a software adapter) within PREFERENCE_MARGIN of it wins. So a software adapter
 * never wins over a CPU path unless it is clearly faster. Null when nothing was measured.
 */
export function chooseFastest(rows: readonly DeviceSpeed[]): { chosen: string; reason: string } | null {
  const measured = rows.filter((r): r is DeviceSpeed & { imagesPerSecond: number } => r.imagesPerSecond !== null);
  if (measured.length === 0) return null;
  const fastest = measured.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
  const close = measured.filter((r) => r.imagesPerSecond * (1 + PREFERENCE_MARGIN) >= fastest.imagesPerSecond);
  // The most preferred among those close to the fastest; the faster one at equal preference.
  const winner = close.reduce((a, b) => (preference(b) > preference(a) || (preference(b) === preference(a) && b.imagesPerSecond > a.imagesPerSecond) ? b : a));
  const others = measured.filter((r) => r !== winner).map((r) => `${r.device} ${speed(r.imagesPerSecond)}`);
  const versus = others.length ? ` (${others.join(', ')})` : '';
  if (winner === fastest) return { chosen: winner.device, reason: `${winner.device} measured fastest: ${speed(winner.imagesPerSecond)}${versus}` };
  const why = winner.host === 'this process' ? 'and needs no browser' : fastest.software ? 'and is not a software adapter' : 'and is preferred';
  return {
    chosen: winner.device,
    reason: `${winner.device} at ${speed(winner.imagesPerSecond)} is within ${PREFERENCE_MARGIN * 100} % of the fastest, ${fastest.device}${versus}, ${why}`,
  };
}

/** What makes a measurement stale besides the devices themselves: the studio, tfjs and the machine's CPU. */
export interface MachineFacts {
  studio: string;
  tfjs: string;
  platform: string;
  cpu: string;
  cores: number;
}

/** A device as the key sees it: opened (its host names the Chromium version, its adapter the GPU), or not. */
export type KeyedDevice = { name: string; info: DeviceInfo | null };

/**
 * The key of a stored measurement: the studio and tfjs versions, the CPU, the variant, size and batch, and for
 * each device its backend, host (Chromium's version) and adapter name, or that it did not start. Any change
 * (a new GPU, driver or browser; a page that starts now and did not before) makes another key: re-measured.
 */
export function speedKey(facts: MachineFacts, spec: SpeedSpec, devices: readonly KeyedDevice[]): string {
  const seen = devices.map((d) => (d.info ? [d.name, d.info.tfBackend, d.info.host, d.info.adapter, d.info.software] : [d.name, 'did not start']));
  return JSON.stringify({ ...facts, variant: spec.variant, imageSize: spec.imageSize, batch: spec.batch, devices: seen });
}

/** A measurement stopped by its caller (the Measure button's Cancel, a stopped run). */
export class MeasureCancelled extends Error {
  constructor() {
    super('measuring the devices was cancelled');
    this.name = 'AbortError';
  }
}

/** Where measurements are kept between sessions (the engine: a JSON file; tests: a Map). */
export interface SpeedStore {
  get(key: string): DeviceSpeeds | null;
  put(key: string, table: DeviceSpeeds): void;
}
