// The one-line summary of a backend choice, for the CLI's stderr and the UI's status bar. The full
// reasons stay in the report (JSON); the line names absent packages briefly and says what to install.
import type { BackendName, BackendReport } from './index.ts';

const PACKAGE_SHORT: Partial<Record<BackendName, string>> = { 'tensorflow-gpu': 'tfjs-node-gpu', tensorflow: 'tfjs-node' };

function details(r: BackendReport): string {
  const parts: string[] = [];
  if (r.simd !== undefined) parts.push(r.simd ? 'SIMD' : 'no SIMD');
  if (r.threads !== undefined) parts.push(`${r.threads} thread${r.threads === 1 ? '' : 's'}`);
  if (r.gpu !== undefined) parts.push(r.gpu ? 'CUDA device' : 'no CUDA device found, running on the CPU');
  if (r.kernels) parts.push(r.kernels.names.length ? `${r.kernels.names.length} studio SIMD kernels` : `TF.js kernels only: ${'reason' in r.kernels ? r.kernels.reason : 'none apply'}`);
  if (r.requested !== 'auto') parts.push(r.reason);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * e.g. "backend: wasm (SIMD, 1 thread) — tfjs-node-gpu not installed; tfjs-node not installed — for a
 * faster backend: npm install @tensorflow/tfjs-node (…)"
 */
export function formatBackendBanner(r: BackendReport): string {
  let line = `backend: ${r.name}${details(r)}`;
  const skips = r.skipped.map((s) => {
    const label = PACKAGE_SHORT[s.name] ?? s.name;
    return s.notInstalled ? `${label} not installed` : `${label} skipped: ${s.reason}`;
  });
  if (skips.length) line += ' — ' + skips.join('; ');
  const slow = r.name === 'wasm' || r.name === 'cpu';
  if (slow && r.skipped.some((s) => s.name === 'tensorflow' && s.notInstalled)) {
    line += ' — for a faster backend: npm install @tensorflow/tfjs-node ' +
      '(an optional dependency that npm leaves out when libtensorflow cannot be downloaded)';
  }
  return line;
}
