// Backend selection: order, overrides, errors and what the report and banner say. The native packages are
// simulated with an injected importer (they cannot install here), shaped like Node's real failures.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, initBackend } from '../../src/backend/index.ts';
import { formatBackendBanner, summarizeBackend, type BackendReport } from '../../src/backend/report.ts';
import { toContractReport } from '../../src/engine/backend.ts';

/** What Node's import() throws for a package that is not in node_modules. */
function notFound(spec: string): Error {
  return Object.assign(new Error(`Cannot find package '${spec}' imported from /app/src/backend/index.ts`), { code: 'ERR_MODULE_NOT_FOUND' });
}
const nothingInstalled = async (spec: string) => { throw notFound(spec); };

/** A stand-in for tfjs-node: registers a 'tensorflow' backend (the cpu backend's class) like the real one. */
function fakeNative(installed: string, version: Record<string, string>) {
  return async (spec: string) => {
    if (spec !== installed) throw notFound(spec);
    const Cpu = tf.findBackend('cpu')!.constructor as new () => tf.KernelBackend;
    tf.registerBackend('tensorflow', () => new Cpu(), 3);
    return { version };
  };
}

const tfjsNodeInstalled = (() => {
  try { createRequire(import.meta.url).resolve('@tensorflow/tfjs-node'); return true; } catch { return false; }
})();

afterEach(() => {
  if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
});

describe('initBackend', () => {
  it.skipIf(tfjsNodeInstalled)('with tfjs-node absent, auto picks wasm and says why each faster one was skipped', async () => {
    const r = await initBackend(undefined, { env: {} });
    expect(r).toMatchObject({ name: 'wasm', tfBackend: 'wasm', requested: 'auto', requestedBy: 'default', simd: true, threads: 1 });
    expect(tf.getBackend()).toBe('wasm');
    expect(r.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(r.skipped[0].reason).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(r.skipped[1].reason).toBe('@tensorflow/tfjs-node is not installed (it is an optional dependency; npm drops it when libtensorflow cannot be downloaded)');
    expect(r.versions).toMatchObject({ tfjs: '4.22.0', 'tfjs-core': '4.22.0', 'tfjs-backend-wasm': '4.22.0', node: process.versions.node });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // goes over IPC / into JSON output as is
  });

  it('takes the first native package that loads, in order', async () => {
    const r = await initBackend(undefined, { env: {}, importModule: fakeNative('@tensorflow/tfjs-node', { 'tfjs-core': tf.version_core, 'tfjs-node': '4.22.0' }) });
    expect(r).toMatchObject({ name: 'tensorflow', tfBackend: 'tensorflow', reason: 'fastest backend that loaded' });
    expect(r.skipped).toEqual([{ name: 'tensorflow-gpu', reason: expect.stringMatching(/not installed/), notInstalled: true }]);
    expect(r.versions['tfjs-node']).toBe('4.22.0');

    tf.removeBackend('tensorflow');
    const gpu = await initBackend(undefined, { env: {}, importModule: fakeNative('@tensorflow/tfjs-node-gpu', { 'tfjs-core': tf.version_core }) });
    expect(gpu).toMatchObject({ name: 'tensorflow-gpu', tfBackend: 'tensorflow', skipped: [], reason: 'fastest backend' });
  });

  it('reports a native package that is installed but broken, a tfjs-core mismatch, and a missing registration', async () => {
    const broken = await initBackend(undefined, {
      env: {},
      importModule: async (spec) => {
        if (spec === '@tensorflow/tfjs-node') throw new Error('libtensorflow.so.2: cannot open shared object file\n    at Module._extensions');
        throw notFound(spec);
      },
    });
    expect(broken.name).toBe('wasm');
    expect(broken.skipped[1]).toEqual({ name: 'tensorflow', reason: '@tensorflow/tfjs-node is installed but failed to load: libtensorflow.so.2: cannot open shared object file' });
    expect(formatBackendBanner(broken)).not.toContain('npm install @tensorflow/tfjs-node');

    const mismatch = await initBackend(undefined, { env: {}, importModule: fakeNative('@tensorflow/tfjs-node', { 'tfjs-core': '4.0.0' }) });
    expect(mismatch.name).toBe('wasm');
    expect(mismatch.skipped[1].reason).toMatch(/built against @tensorflow\/tfjs-core 4\.0\.0 but this app uses 4\.22\.0/);

    tf.removeBackend('tensorflow'); // the mismatched fake did register it
    const unregistered = await initBackend(undefined, { env: {}, importModule: async (spec) => {
      if (spec === '@tensorflow/tfjs-node') return { version: { 'tfjs-core': tf.version_core } };
      throw notFound(spec);
    } });
    expect(unregistered.skipped[1].reason).toMatch(/registered no 'tensorflow' backend/);
  });

  it('honours MOBILEVIT_BACKEND, and an explicit request over it', async () => {
    const fromEnv = await initBackend(undefined, { env: { MOBILEVIT_BACKEND: 'cpu' }, importModule: nothingInstalled });
    expect(fromEnv).toMatchObject({ name: 'cpu', tfBackend: 'cpu', requested: 'cpu', requestedBy: 'env', skipped: [], reason: 'requested (from MOBILEVIT_BACKEND)' });
    expect(tf.getBackend()).toBe('cpu');

    const explicit = await initBackend('wasm', { env: { MOBILEVIT_BACKEND: 'cpu' }, importModule: nothingInstalled });
    expect(explicit).toMatchObject({ name: 'wasm', tfBackend: 'wasm', requestedBy: 'argument', reason: 'requested' });

    const auto = await initBackend('auto', { env: { MOBILEVIT_BACKEND: 'cpu' }, importModule: nothingInstalled });
    expect(auto).toMatchObject({ name: 'wasm', requested: 'auto', requestedBy: 'argument' });
  });

  it('rejects an unknown name, listing the valid ones', async () => {
    await expect(initBackend('webgpu', { env: {} })).rejects.toThrow(BackendError);
    await expect(initBackend('webgpu', { env: {} })).rejects.toThrow(
      'unknown backend "webgpu": valid names are tensorflow-gpu, tensorflow, wasm, cpu, auto');
    await expect(initBackend(undefined, { env: { MOBILEVIT_BACKEND: 'gpu' } })).rejects.toThrow(/unknown MOBILEVIT_BACKEND "gpu"/);
  });

  it('says why a requested backend cannot load', async () => {
    await expect(initBackend('tensorflow', { env: {}, importModule: nothingInstalled })).rejects.toThrow(
      'backend tensorflow cannot be used: @tensorflow/tfjs-node is not installed (it is an optional dependency; ' +
      'npm drops it when libtensorflow cannot be downloaded)');
    await expect(initBackend(undefined, { env: { MOBILEVIT_BACKEND: 'tensorflow-gpu' }, importModule: nothingInstalled }))
      .rejects.toThrow(/^backend tensorflow-gpu \(from MOBILEVIT_BACKEND\) cannot be used: @tensorflow\/tfjs-node-gpu is not installed/);
  });

  it('is safe to call repeatedly and concurrently', async () => {
    const reports = await Promise.all([initBackend('cpu', { env: {} }), initBackend('wasm', { env: {} }), initBackend('wasm', { env: {} })]);
    expect(reports.map((r) => r.tfBackend)).toEqual(['cpu', 'wasm', 'wasm']);
    expect(tf.getBackend()).toBe('wasm');
    const t = tf.tensor([1, 2, 3]).square();
    expect(Array.from(t.dataSync())).toEqual([1, 4, 9]);
    t.dispose();
  });
});

describe('formatBackendBanner', () => {
  const base: BackendReport = {
    name: 'wasm', tfBackend: 'wasm', requested: 'auto', requestedBy: 'default', reason: 'fastest backend that loaded',
    skipped: [
      { name: 'tensorflow-gpu', reason: '@tensorflow/tfjs-node-gpu is not installed (…)', notInstalled: true },
      { name: 'tensorflow', reason: '@tensorflow/tfjs-node is not installed (…)', notInstalled: true },
    ],
    versions: { tfjs: '4.22.0' }, simd: true, threads: 1,
  };

  it('is one line naming the backend, what was skipped, and what to install', () => {
    const line = formatBackendBanner(base);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^backend: wasm \(SIMD, 1 thread\) — tfjs-node-gpu not installed; tfjs-node not installed — for a faster backend: npm install @tensorflow\/tfjs-node \(/);
  });

  it("says how many of the studio's SIMD kernels run, or why none do", () => {
    expect(formatBackendBanner({ ...base, skipped: [], kernels: { names: ['BatchMatMul', 'Sum'] } })).toBe('backend: wasm (SIMD, 1 thread, 2 studio SIMD kernels)');
    expect(formatBackendBanner({ ...base, skipped: [], kernels: { names: [], reason: 'clang is not installed' } }))
      .toBe('backend: wasm (SIMD, 1 thread, TF.js kernels only: clang is not installed)');
  });

  it('says when a backend was requested, and gives full reasons for broken packages', () => {
    expect(formatBackendBanner({ ...base, name: 'cpu', tfBackend: 'cpu', requested: 'cpu', requestedBy: 'argument', reason: 'requested', skipped: [], simd: undefined, threads: undefined }))
      .toBe('backend: cpu (requested)');
    expect(formatBackendBanner({ ...base, threads: 4, skipped: [{ name: 'tensorflow', reason: 'it broke' }] }))
      .toBe('backend: wasm (SIMD, 4 threads) — tfjs-node skipped: it broke');
    expect(formatBackendBanner({ ...base, name: 'tensorflow-gpu', tfBackend: 'tensorflow', skipped: [], simd: undefined, threads: undefined, gpu: false }))
      .toBe('backend: tensorflow-gpu (no CUDA device found, running on the CPU)');
  });

  it("carries the faster-backend hint as its own field, which the contract's report reads without parsing the line", () => {
    expect(summarizeBackend(base).fasterHint).toMatch(/^npm install @tensorflow\/tfjs-node \(/);
    expect(toContractReport(base)).toMatchObject({ active: 'wasm', fasterHint: summarizeBackend(base).fasterHint, reason: formatBackendBanner(base) });
    // tfjs-node is there but broken, or the backend is a fast one: no hint, in the field or the line.
    const broken: BackendReport = { ...base, skipped: [{ name: 'tensorflow', reason: 'it broke' }] };
    expect(summarizeBackend(broken).fasterHint).toBeNull();
    expect(toContractReport(broken)).not.toHaveProperty('fasterHint');
    expect(summarizeBackend({ ...base, name: 'tensorflow', tfBackend: 'tensorflow' }).fasterHint).toBeNull();
  });
});
