// What selecting a backend reports, as data: the backend, why, what was skipped, and what to install for a
// faster one (its own field, so the contract and the UI read it without parsing the line). The one-line banner
// for the CLI's stderr and the UI's status bar is composed from those fields; the full reasons stay in the report.
import type { BackendName } from './names.ts';
import type { SimdKernels } from './wasm-simd-kernels.ts';

export interface BackendReport {
  /** Our name for the backend (tensorflow-gpu and tensorflow are both tf's 'tensorflow'). */
  name: BackendName;
  /** tf.getBackend() after selection. */
  tfBackend: string;
  /** 'auto' unless a backend was requested, and where the request came from. */
  requested: BackendName | 'auto';
  requestedBy: 'argument' | 'env' | 'default';
  /** Why this backend: requested, or the fastest that loaded. */
  reason: string;
  /** The faster backends that were tried first, and why each could not be used. */
  skipped: Array<{ name: BackendName; reason: string; notInstalled?: boolean }>;
  versions: Record<string, string>;
  /** wasm only. */
  simd?: boolean;
  threads?: number;
  /** wasm only: the studio's own SIMD kernels in use (src/backend/wasm-simd-kernels.ts), or why none. */
  kernels?: SimdKernels;
  /** tensorflow-gpu only: whether TensorFlow found a CUDA device. */
  gpu?: boolean;
}

const PACKAGE_SHORT: Partial<Record<BackendName, string>> = { 'tensorflow-gpu': 'tfjs-node-gpu', tensorflow: 'tfjs-node' };

/** A report in short parts: what the backend runs with, each skipped backend briefly, and the faster-backend hint. */
export interface BackendSummary {
  details: string[];
  skips: string[];
  /** What to install for a faster backend, where the one chosen is a slow one and tfjs-node is missing; else null. */
  fasterHint: string | null;
}

export function summarizeBackend(r: BackendReport): BackendSummary {
  const details: string[] = [];
  if (r.simd !== undefined) details.push(r.simd ? 'SIMD' : 'no SIMD');
  if (r.threads !== undefined) details.push(`${r.threads} thread${r.threads === 1 ? '' : 's'}`);
  if (r.gpu !== undefined) details.push(r.gpu ? 'CUDA device' : 'no CUDA device found, running on the CPU');
  if (r.kernels) details.push(r.kernels.names.length ? `${r.kernels.names.length} studio SIMD kernels` : `TF.js kernels only: ${'reason' in r.kernels ? r.kernels.reason : 'none apply'}`);
  if (r.requested !== 'auto') details.push(r.reason);
  const skips = r.skipped.map((s) => {
    const label = PACKAGE_SHORT[s.name] ?? s.name;
    return s.notInstalled ? `${label} not installed` : `${label} skipped: ${s.reason}`;
  });
  const slow = r.name === 'wasm' || r.name === 'cpu';
  const fasterHint = slow && r.skipped.some((s) => s.name === 'tensorflow' && s.notInstalled)
    ? 'npm install @tensorflow/tfjs-node (an optional dependency that npm leaves out when libtensorflow cannot be downloaded)'
    : null;
  return { details, skips, fasterHint };
}

/**
 * e.g. "backend: wasm (SIMD, 1 thread) — tfjs-node-gpu not installed; tfjs-node not installed — for a
 * faster backend: npm install @tensorflow/tfjs-node (…)"
 */
export function formatBackendBanner(r: BackendReport): string {
  const s = summarizeBackend(r);
  let line = `backend: ${r.name}${s.details.length ? ` (${s.details.join(', ')})` : ''}`;
  if (s.skips.length) line += ' — ' + s.skips.join('; ');
  if (s.fasterHint) line += ` — for a faster backend: ${s.fasterHint}`;
  return line;
}
