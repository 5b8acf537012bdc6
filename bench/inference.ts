// Inference latency: batch 1, 256×256, median of N runs after warm-up, every variant on every backend
// this machine has. Reference points from the issue, measured on this machine class: onnxruntime-node
// runs XXS in about 9–20 ms, PyTorch (OpenBLAS, 2 threads) in 22–42 ms.
import { initBackend } from '../src/backend/index.ts';
import { VARIANT_NAMES } from '../src/model/index.ts';
import { measureSpeed } from '../src/train/speed.ts';
import { table } from '../src/cli/common.ts';
import { machine, median, writeResult } from './machine.ts';

export interface InferenceRow { backend: string; variant: string; median_ms: number; min_ms: number; runs: number }

export async function benchInference(opts: { runs?: number; size?: number; backends?: string[] } = {}) {
  const runs = opts.runs ?? 20;
  const size = opts.size ?? 256;
  const rows: InferenceRow[] = [];
  for (const backend of opts.backends ?? ['tensorflow', 'wasm', 'cpu']) {
    try {
      await initBackend(backend);
    } catch (e) {
      console.log(`skip ${backend}: ${(e as Error).message}`);
      continue;
    }
    // The plain JS backend is ~20× slower: fewer runs keep the benchmark under a few minutes.
    const n = backend === 'cpu' ? Math.min(runs, 5) : runs;
    for (const variant of VARIANT_NAMES) {
      // The same measurement as `mobilevit-studio bench` (src/train/speed.ts).
      const { times } = await measureSpeed({ variant, mode: 'inference', imageSize: size, batchSize: 1, runs: n, warmup: 3 });
      rows.push({ backend, variant, median_ms: +median(times).toFixed(2), min_ms: +Math.min(...times).toFixed(2), runs: n });
      console.log(`${backend} ${variant}: ${median(times).toFixed(1)} ms`);
    }
  }
  console.log('\nInference latency, batch 1, ' + size + '×' + size + ' (median of N runs after 3 warm-up runs)');
  console.log(table(['backend', 'variant', 'median ms', 'min ms', 'runs'], rows.map((r) => [r.backend, r.variant, r.median_ms, r.min_ms, r.runs])));
  const result = { machine: machine(), size, batch: 1, rows };
  writeResult('bench/results/inference.json', result);
  return result;
}
