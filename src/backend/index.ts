// Picks the TensorFlow.js backend: tfjs-node-gpu → tfjs-node → wasm → cpu (fastest first), or the one
// asked for with --backend / MOBILEVIT_BACKEND, and reports the choice and why each faster one was
// skipped. Every entry point (CLI, engine, bench, tests) calls initBackend before creating tensors.
import * as tf from '@tensorflow/tfjs';
import { loadNative, type ImportModule } from './native.ts';
import { loadWasm, wasmVersion } from './wasm.ts';
import { registerWasmGradKernels } from './wasm-grad-kernels.ts';
import type { BackendReport } from './report.ts';

import { BACKEND_NAMES, type BackendName } from './names.ts';
export { BACKEND_NAMES, type BackendName };

export class BackendError extends Error {}

export interface InitBackendOptions {
  /** Where MOBILEVIT_BACKEND is read; process.env by default. */
  env?: Record<string, string | undefined>;
  /** How the optional native packages are imported; tests substitute a fake. */
  importModule?: ImportModule;
}

const PACKAGES: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

interface Attempt {
  ok: boolean;
  reason?: string;
  notInstalled?: boolean;
  details: Pick<BackendReport, 'simd' | 'threads' | 'gpu' | 'kernels'> & { versions?: Record<string, string> };
}

async function attempt(name: BackendName, importModule: ImportModule): Promise<Attempt> {
  const pkg = PACKAGES[name];
  if (pkg) {
    const r = await loadNative(pkg, importModule);
    return { ok: r.ok, reason: r.reason, notInstalled: r.notInstalled, details: { versions: r.versions, gpu: name === 'tensorflow-gpu' ? r.usingGpu : undefined } };
  }
  if (name === 'wasm') {
    const r = await loadWasm();
    return { ok: r.ok, reason: r.reason, details: { simd: r.simd, threads: r.threads, kernels: r.kernels } };
  }
  return (await tf.setBackend('cpu'))
    ? { ok: true, details: {} }
    : { ok: false, reason: 'the JavaScript cpu backend failed to initialise', details: {} };
}

function parseRequest(requested: string | undefined, env: Record<string, string | undefined>) {
  const fromArg = requested?.trim();
  const fromEnv = env.MOBILEVIT_BACKEND?.trim();
  const raw = fromArg || fromEnv || 'auto';
  const requestedBy = fromArg ? 'argument' : fromEnv ? 'env' : 'default';
  const name = raw.toLowerCase();
  if (name !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(name)) {
    const where = requestedBy === 'env' ? 'MOBILEVIT_BACKEND' : 'backend';
    throw new BackendError(`unknown ${where} "${raw}": valid names are ${[...BACKEND_NAMES, 'auto'].join(', ')}`);
  }
  return { name: name as BackendName | 'auto', requestedBy: requestedBy as BackendReport['requestedBy'] };
}

async function select(requested: string | undefined, opts: InitBackendOptions): Promise<BackendReport> {
  const { name: want, requestedBy } = parseRequest(requested, opts.env ?? process.env);
  const importModule = opts.importModule ?? ((s: string) => import(s));
  // Registered whatever is chosen: code may still switch to wasm later with tf.setBackend.
  registerWasmGradKernels();
  const versions: Record<string, string> = {
    tfjs: tf.version.tfjs, 'tfjs-core': tf.version_core, 'tfjs-backend-wasm': wasmVersion, node: process.versions.node,
  };
  if (want !== 'auto') {
    const r = await attempt(want, importModule);
    const via = requestedBy === 'env' ? ' (from MOBILEVIT_BACKEND)' : '';
    if (!r.ok) throw new BackendError(`backend ${want}${via} cannot be used: ${r.reason}`);
    return {
      name: want, tfBackend: tf.getBackend(), requested: want, requestedBy, reason: `requested${via}`,
      skipped: [], versions: { ...versions, ...r.details.versions }, ...omitVersions(r.details),
    };
  }
  const skipped: BackendReport['skipped'] = [];
  for (const name of BACKEND_NAMES) {
    const r = await attempt(name, importModule);
    if (!r.ok) {
      skipped.push({ name, reason: r.reason ?? 'unavailable', ...(r.notInstalled ? { notInstalled: true } : {}) });
      continue;
    }
    return {
      name, tfBackend: tf.getBackend(), requested: 'auto', requestedBy,
      reason: skipped.length === 0 ? 'fastest backend' : 'fastest backend that loaded',
      skipped, versions: { ...versions, ...r.details.versions }, ...omitVersions(r.details),
    };
  }
  throw new BackendError(`no TensorFlow.js backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

function omitVersions(d: Attempt['details']): Pick<BackendReport, 'simd' | 'threads' | 'gpu' | 'kernels'> {
  const out: Pick<BackendReport, 'simd' | 'threads' | 'gpu' | 'kernels'> = {};
  if (d.simd !== undefined) out.simd = d.simd;
  if (d.threads !== undefined) out.threads = d.threads;
  if (d.gpu !== undefined) out.gpu = d.gpu;
  if (d.kernels !== undefined) out.kernels = d.kernels;
  return out;
}

// Selection switches a process-global engine: concurrent calls run one after another.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Selects and initialises the backend. `requested` is the --backend value (else MOBILEVIT_BACKEND, else
 * 'auto'). Throws BackendError, with a one-line message, for an unknown name or a requested backend that
 * cannot load. Safe to call again (with the same or another request).
 */
export function initBackend(requested?: string, opts: InitBackendOptions = {}): Promise<BackendReport> {
  const run = queue.then(() => select(requested, opts));
  queue = run.catch(() => undefined);
  return run;
}
