// The WebAssembly backend in Node: point it at the package's own .wasm files (a bundler or a packaged
// app would otherwise look next to the bundle) and report SIMD and thread count.
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { enableSimdKernels, type SimdKernels } from './wasm-simd-kernels.ts';

export interface WasmLoad {
  ok: boolean;
  reason?: string;
  simd?: boolean;
  threads?: number;
  /** The studio's own SIMD kernels in use, or why none. */
  kernels?: SimdKernels;
}

let pathsSet = false;
// In Node the backend is single-threaded and loads the SIMD build where WebAssembly SIMD exists.
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

/** The folder holding tfjs-backend-wasm*.wasm, or null when the package cannot be resolved. */
function wasmDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  } catch {
    return null;
  }
}

export async function loadWasm(): Promise<WasmLoad> {
  if (typeof WebAssembly === 'undefined') return { ok: false, reason: 'this runtime has no WebAssembly' };
  const dir = wasmDir();
  const missing = dir ? WASM_FILES.filter((f) => !existsSync(join(dir, f))) : [];
  if (missing.length) {
    return { ok: false, reason: `${missing.join(', ')} missing from ${dir} (reinstall @tensorflow/tfjs-backend-wasm)` };
  }
  if (dir && !pathsSet) {
    // Only takes effect before the backend's first initialisation, so once is enough.
    try {
      tfwasm.setWasmPaths(dir + sep);
    } catch (e) { // thrown only after an earlier initialisation aborted
      return { ok: false, reason: `the WebAssembly backend cannot be set up: ${(e as Error).message}` };
    }
    pathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) {
    return { ok: false, reason: 'the WebAssembly backend failed to initialise (see the warning above)' };
  }
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  // The kernels are SIMD code: without SIMD (an old runtime) TF.js's own run.
  const kernels: SimdKernels = simd === true ? await enableSimdKernels() : { names: [], reason: 'this runtime has no WebAssembly SIMD' };
  return { ok: true, simd: simd === true, threads: tfwasm.getThreadsCount(), kernels };
}

export const wasmVersion = tfwasm.version_wasm;
