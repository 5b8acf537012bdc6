// The studio's own WebAssembly SIMD kernels for TF.js's wasm backend in Node, compiled from
// src/backend/kernels/*.c by clang (scripts/build-kernels.mjs → dist-kernels/kernels.wasm, built on first use
// where clang is installed, and by `npm run build` for the packaged app). They replace TF.js kernels that
// measurements showed to be the bottleneck; where the module is missing, TF.js's own kernels run and the
// backend report says why.
//
// The module imports the wasm backend's own memory, so a kernel reads its inputs and writes its output where
// TF.js keeps them (no copy). That only holds for Node's single-threaded wasm (the threaded build's memory is
// shared, and its page does not load these kernels).
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, WASM_KERNELS, ensureBuilt, needsBuild } from '../build/outputs.ts';
import { batchMatMulKernel } from './simd-batch-matmul.ts';
import { markStudioKernel } from './wasm-grad-kernels.ts';
import type { WasmBackendParts } from '../util/wasm-memory.ts';
import { conv2dFilterGradKernel, convInputGradKernel, depthwiseFilterGradKernel } from './simd-filter-grads.ts';
import { meanKernel, sumKernel } from './simd-reductions.ts';
import { markFusedBatchNorm, markFusedLayerNorm, markFusedSoftmax, markFusedSoftmaxXent, markFusedUpdates, markTransposedMatMulFast, withMarksSuspended } from '../util/kernel-traits.ts';
import { BATCH_NORM_MAKERS } from './simd-batchnorm.ts';
import { LAYER_NORM_MAKERS } from './simd-layernorm.ts';
import { depthwiseConvKernel, depthwiseInputGradKernel } from './simd-depthwise.ts';
import { pointwiseConvKernel } from './simd-pointwise-conv.ts';
import { SOFTMAX_MAKERS } from './simd-softmax.ts';
import { SOFTMAX_XENT_MAKERS } from './simd-softmax-xent.ts';
import { UPDATE_MAKERS } from './simd-updates.ts';
import type { KernelExports, KernelWrapper } from './simd-kernel-types.ts';

/** What the wasm backend uses of the studio's kernels: which ones, or why none. */
export type SimdKernels = { names: string[] } | { names: []; reason: string };

const EXPORTS: Array<keyof KernelExports> = ['batch_matmul', 'sum_rows', 'depthwise_filter_grad', 'conv_filter_grad', 'conv_input_grad', 'bn_moments', 'bn_act_forward', 'bn_act_backward',
  'depthwise_conv', 'depthwise_input_grad', 'adamw_update', 'ema_update', 'softmax_xent', 'ln_forward', 'ln_backward', 'softmax_rows', 'softmax_rows_grad', 'bias_act'];

const WRAPPERS: Record<string, KernelWrapper> = {
  BatchMatMul: batchMatMulKernel,
  // 1×1 filters only (on batch_matmul); the rest is TF.js's (XNNPACK).
  Conv2D: pointwiseConvKernel,
  FusedConv2D: pointwiseConvKernel,
  Sum: sumKernel,
  Mean: meanKernel,
  // Registered by wasm-grad-kernels.ts (composed from TF.js's kernels) before these.
  Conv2DBackpropFilter: conv2dFilterGradKernel,
  // Wraps wasm-grad-kernels.ts's faster composed one, which keeps the cases this does not take.
  Conv2DBackpropInput: convInputGradKernel,
  DepthwiseConv2dNativeBackpropFilter: depthwiseFilterGradKernel,
  DepthwiseConv2dNative: depthwiseConvKernel,
  FusedDepthwiseConv2D: depthwiseConvKernel,
  // Wraps wasm-grad-kernels.ts's composed one, which keeps the cases this does not take.
  DepthwiseConv2dNativeBackpropInput: depthwiseInputGradKernel,
};

/**
 * The module's imports must be TF.js's memory alone, and it must hold no data segment (its data would be
 * written over TF.js's memory when instantiated). The build also refuses code that uses a stack.
 */
export function checkKernelModule(bytes: Uint8Array<ArrayBuffer>, source: string): WebAssembly.Module {
  if (!WebAssembly.validate(bytes)) throw new Error(`${source} is not a valid WebAssembly module`);
  // Sections after the 8-byte header: an id byte, then the size as unsigned LEB128.
  for (let at = 8; at < bytes.length;) {
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    if (id === 11 && size > 1) throw new Error(`${source} has a data section: it would overwrite TF.js's memory`);
    at += size;
  }
  const mod = new WebAssembly.Module(bytes);
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`);
  if (imports.join() !== 'env.memory:memory') throw new Error(`${source} must import env.memory only, imports ${imports.join(', ') || 'nothing'}`);
  const exported = new Set(WebAssembly.Module.exports(mod).filter((e) => e.kind === 'function').map((e) => e.name));
  const missing = EXPORTS.filter((f) => !exported.has(f));
  if (missing.length) throw new Error(`${source} lacks ${missing.join(', ')} (rebuild: npm run build:kernels)`);
  return mod;
}

function hasClang(): boolean {
  const r = spawnSync(process.env.CLANG || 'clang', ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

let status: SimdKernels | null = null;
/** TF.js's own kernel under each name the studio's replaced, and the studio's, for withTfjsKernels. */
const swapped = new Map<string, { tfjs: tf.KernelConfig; studio: tf.KernelConfig }>();

/**
 * Runs `fn` on TF.js's own wasm kernels and the model's formulations for them, as a machine without clang would
 * (bench/kernels.ts compares the two in one process); the studio's kernels are back once it ends.
 */
export async function withTfjsKernels<T>(fn: () => Promise<T>): Promise<T> {
  const swap = (which: 'tfjs' | 'studio') => {
    for (const [name, k] of swapped) {
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(k[which]);
    }
  };
  swap('tfjs');
  try {
    return await withMarksSuspended(fn);
  } finally {
    swap('studio');
  }
}

/**
 * Builds the module if needed and possible, and registers the kernels for the wasm backend (once per process;
 * later calls answer the first one's result). Never throws: a kernel that cannot load leaves TF.js's own.
 */
export async function enableSimdKernels(opts: { log?: (line: string) => void } = {}): Promise<SimdKernels> {
  if (status) return status;
  status = await load(opts.log).catch((e: Error) => ({ names: [] as [], reason: e.message.split('\n')[0] }));
  return status;
}

/** The built module's bytes, building it first where it is missing or stale and clang is here; null: not built. */
async function builtModule(log?: (line: string) => void): Promise<Uint8Array<ArrayBuffer> | null> {
  const file = join(ROOT, WASM_KERNELS.output);
  const why = needsBuild(WASM_KERNELS);
  if (why) {
    if (!hasClang()) {
      if (why === 'missing') return null;
      log?.(`the studio's SIMD kernels are older than their sources and clang is not installed: using the built ones`);
    } else {
      await ensureBuilt(WASM_KERNELS, { log: log ?? (() => undefined), toolOutput: log ? (c) => log(c.trimEnd()) : () => undefined });
    }
  }
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    // Another process's build swapped the folder in at this moment (two renames): once more.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await new Promise((r) => setTimeout(r, 200));
    return new Uint8Array(readFileSync(file));
  }
}

async function load(log?: (line: string) => void): Promise<SimdKernels> {
  const file = join(ROOT, WASM_KERNELS.output);
  const bytes = await builtModule(log);
  if (!bytes) return { names: [], reason: "the studio's SIMD kernels are not built and clang is not installed (Debian: apt-get install clang lld llvm)" };
  const mod = checkKernelModule(bytes, file);
  const instances = new WeakMap<WasmBackendParts, KernelExports>();
  const exportsFor = (backend: WasmBackendParts): KernelExports => {
    let e = instances.get(backend);
    if (!e) {
      e = new WebAssembly.Instance(mod, { env: { memory: backend.wasm.asm.memory } }).exports as unknown as KernelExports;
      instances.set(backend, e);
    }
    return e;
  };
  const names: string[] = [];
  for (const [name, wrap] of Object.entries(WRAPPERS)) {
    const builtin = tf.getKernel(name, 'wasm');
    if (!builtin) continue;
    tf.unregisterKernel(name, 'wasm');
    // Keeps the builtin's setup (it binds the wasm function the fallback calls).
    const kernelFunc = wrap(builtin.kernelFunc, exportsFor);
    markStudioKernel(kernelFunc);
    const studio = { ...builtin, kernelFunc };
    swapped.set(name, { tfjs: builtin, studio });
    tf.registerKernel(studio);
    names.push(name);
  }
  for (const [name, make] of Object.entries({ ...BATCH_NORM_MAKERS, ...LAYER_NORM_MAKERS, ...UPDATE_MAKERS, ...SOFTMAX_XENT_MAKERS, ...SOFTMAX_MAKERS })) {
    if (!tf.getKernel(name, 'wasm')) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(exportsFor) });
    names.push(name);
  }
  // Products with transposed operands now cost what plain ones do: the model drops its explicit transposes.
  if (names.includes('BatchMatMul')) markTransposedMatMulFast('wasm');
  markFusedBatchNorm('wasm');
  markFusedLayerNorm('wasm');
  markFusedUpdates('wasm');
  markFusedSoftmaxXent('wasm');
  markFusedSoftmax('wasm');
  return { names };
}
