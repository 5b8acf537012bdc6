// The backends the studio can run on, fastest first. Free of tfjs, so the contract builds its schema
// from this list too.
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
