// The backends the studio can run on, fastest first. Free of tfjs, so the contract builds its schema
// from this list too.
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * Backends of a Chromium page (headless Chromium from the CLI, Electron's hidden window): its GPU through
 * WebGPU or WebGL, or its multi-threaded SIMD WebAssembly. They run on a compute device (src/device/).
 */
export const PAGE_BACKENDS = ['webgpu', 'webgl', 'wasm-threads'] as const;
export type PageBackend = (typeof PAGE_BACKENDS)[number];

/**
 * wasm on every core: worker threads of this process, each its own wasm instance, training data parallel
 * (src/device/parallel.ts). TF.js's wasm runs on one thread in Node.
 */
export const WORKER_BACKENDS = ['wasm-workers'] as const;
export type WorkerBackend = (typeof WORKER_BACKENDS)[number];

/** Every name --backend and the Settings view accept, 'auto' aside. */
export const DEVICE_NAMES = [...BACKEND_NAMES, ...WORKER_BACKENDS, ...PAGE_BACKENDS] as const;

export const isWorkerBackend = (name: string): name is WorkerBackend => (WORKER_BACKENDS as readonly string[]).includes(name);
export const isPageBackend = (name: string): name is PageBackend => (PAGE_BACKENDS as readonly string[]).includes(name);
