// The inference runtime rule's kept choices (train/feature-runtime.ts decides and measures): one JSON file,
// inference-runtimes.json beside the device speeds, read by the rule, by `devices` and by the Settings view. Each
// choice is keyed by the machine, the versions, the model, the size and the device TF.js ran on, so another
// machine or version measures again. No tfjs and no onnxruntime here: the service reads it too.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { InferenceRuntime, KeptRuntime } from '../protocol/devices.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { machineFacts } from './speed-file.ts';

export const RUNTIMES_FILE = 'inference-runtimes.json';

/**
 * Where the kept choices live: always beside the device speeds file, so whoever decides where the speeds go (the
 * CLI's workspace, the service's settings folder, which it hands the engine at init) decides this too, and the
 * service, the engine and `devices` read and write one file.
 */
export const runtimesFileBeside = (speedsFile: string): string => join(dirname(speedsFile), RUNTIMES_FILE);

/** A measurement kept for the machine. */
export interface Kept { key: string; runtime: InferenceRuntime; msPerImage: Record<InferenceRuntime, number>; reason: string; measuredAt: number }

/**
 * The key of a kept choice: the machine, the versions, the model, the size, and the device TF.js ran on (its
 * name: wasm in this process, wasm-workers, a page).
 */
export function runtimeKey(variant: string, size: number, backend: string): string {
  // The device speeds' facts, in the order the kept keys were written in (a key is compared as a string).
  const { studio, tfjs, platform, cpu, cores } = machineFacts();
  return JSON.stringify({ studio, tfjs, backend, platform, cpu, cores, variant, size });
}

/** The choices kept in `file` for this machine, any device, newest first (what `devices` and Settings show). */
export function keptRuntimes(file: string): KeptRuntime[] {
  return readKept(file).flatMap((e) => {
    let at: { variant: string; size: number; backend: string };
    try {
      at = JSON.parse(e.key) as typeof at;
    } catch {
      return []; // a hand-broken entry is no measurement
    }
    return runtimeKey(at.variant, at.size, at.backend) === e.key
      ? [{ variant: at.variant, size: at.size, device: at.backend, runtime: e.runtime, reason: e.reason, measuredAt: e.measuredAt }] : [];
  });
}

export function readKept(file: string): Kept[] {
  try {
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { entries: Kept[] }).entries ?? [] : [];
  } catch {
    return []; // a broken file is no measurement: measured again
  }
}

export function keep(file: string, k: Kept): void {
  const entries = [k, ...readKept(file).filter((e) => e.key !== k.key)].slice(0, 32);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify({ format: 1, entries }, null, 1) + '\n');
}
