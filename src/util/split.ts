// Cutting a batch across workers (the wasm-workers device's threads, onnxruntime's worker sessions).

/** Contiguous bounds cutting `total` items into `parts` near-equal runs: [0, …, total]. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, i) => Math.round((i * total) / parts));
}
