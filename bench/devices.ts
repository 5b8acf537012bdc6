// Compute devices: XXS inference and training on every Chromium page device this machine starts (webgpu, webgl,
// wasm-threads), beside single-thread wasm in Node, through the same measurement as `mobilevit-studio bench
// --backend …` (src/train/speed.ts: one device call per run, the batch's round trip included). Then threaded wasm
// in Chromium against single-thread wasm in Node, shape for shape.
//
// A software adapter (SwiftShader, llvmpipe: what a machine without a usable GPU gets) is correct but slow: it is
// labelled as such, measured for inference only at a small shape with few runs (its first pass at a shape compiles
// shaders for tens of seconds), and never read as a GPU's speed.
import { table } from '../src/cli/common.ts';
import { chooseDevice } from '../src/device/choice.ts';
import { describeDevice } from '../src/device/describe.ts';
import { deviceDeps } from '../src/engine/devices.ts';
import type { ComputeDevice } from '../src/device/device.ts';
import { measureSpeed, type SpeedMode, type SpeedResult } from '../src/train/speed.ts';
import { machine, writeResult } from './machine.ts';

interface Shape { mode: SpeedMode; imageSize: number; batchSize: number; runs: number }

/** What every hardware device (and Node's wasm) is measured at. */
const FULL: Shape[] = [
  { mode: 'inference', imageSize: 256, batchSize: 1, runs: 10 },
  { mode: 'training', imageSize: 128, batchSize: 8, runs: 3 },
];
/**
 * A software adapter: inference at a small shape, few runs. Its training steps took minutes here (SwiftShader on
 * 2 loaded cores: 7 s a step on webgpu, 81 s on webgl at 32 px, batch 2), for numbers that say nothing about a
 * GPU; `mobilevit-studio bench --backend webgpu --mode training` measures one on demand.
 */
const SOFTWARE: Shape[] = [{ mode: 'inference', imageSize: 64, batchSize: 1, runs: 3 }];

export type DeviceRow = Omit<SpeedResult, 'times'> & { minMs: number };

const PAGE_DEVICES = ['wasm-threads', 'webgpu', 'webgl'] as const;

async function measureOn(device: ComputeDevice, shapes: Shape[], rows: DeviceRow[]): Promise<void> {
  for (const s of shapes) {
    const { times, ...r } = await measureSpeed({ variant: 'mobilevit_xxs', ...s }, undefined, device);
    rows.push({ ...r, minMs: +Math.min(...times).toFixed(2) });
    console.log(`${r.backend} ${s.mode} ${s.imageSize} px batch ${s.batchSize}: ${r.medianMs} ms, ${r.imagesPerSec} images/s`);
  }
}

/** `backends`: which to measure (default: Node's wasm and every page device). */
export async function benchDevices(opts: { backends?: string[] } = {}) {
  const rows: DeviceRow[] = [];
  const skipped: { backend: string; reason: string }[] = [];
  for (const name of opts.backends ?? ['wasm', ...PAGE_DEVICES]) {
    let device: ComputeDevice;
    try {
      ({ device } = await chooseDevice(name, { deps: deviceDeps(), onNote: (n) => console.log(n) }));
    } catch (e) {
      skipped.push({ backend: name, reason: (e as Error).message });
      console.log(`skip ${name}: ${(e as Error).message}`);
      continue;
    }
    try {
      console.log(`${name}: ${describeDevice(device)}`);
      await measureOn(device, device.info.software ? SOFTWARE : FULL, rows);
    } catch (e) {
      skipped.push({ backend: name, reason: `failed: ${(e as Error).message}` });
      console.log(`${name} failed: ${(e as Error).message}`);
    } finally {
      await device.close();
    }
  }

  console.log('\nXXS on each compute device (median of N runs after warm-up; a page device\'s time includes the batch\'s round trip)');
  console.log(table(['device', 'adapter', 'mode', 'size', 'batch', 'median ms', 'min ms', 'images/s', 'runs'], rows.map((r) => [
    r.backend, `${r.adapter ?? 'this process (1 thread)'}${r.software ? ' — SOFTWARE adapter, not a GPU' : ''}`, r.mode, `${r.imageSize} px`, r.batchSize,
    r.medianMs, r.minMs, r.imagesPerSec, r.runs,
  ])));
  for (const s of skipped) console.log(`not measured: ${s.backend}: ${s.reason}`);

  // Threaded wasm in Chromium against Node's single thread, on the same shapes.
  const comparison = FULL.flatMap((s) => {
    const find = (backend: string) => rows.find((r) => r.backend === backend && r.mode === s.mode && r.imageSize === s.imageSize && r.batchSize === s.batchSize);
    const node = find('wasm');
    const threads = find('wasm-threads');
    if (!node || !threads) return [];
    return [{ mode: s.mode, imageSize: s.imageSize, batchSize: s.batchSize, nodeWasmMs: node.medianMs, wasmThreadsMs: threads.medianMs,
      threads: threads.adapter, speedup: +(node.medianMs / threads.medianMs).toFixed(2) }];
  });
  if (comparison.length) {
    console.log('\nThreaded wasm in Chromium vs single-thread wasm in Node (XXS)');
    console.log(table(['mode', 'size', 'batch', 'Node wasm ms', 'wasm-threads ms', 'threads', 'speed-up'],
      comparison.map((c) => [c.mode, `${c.imageSize} px`, c.batchSize, c.nodeWasmMs, c.wasmThreadsMs, c.threads ?? '?', `${c.speedup}×`])));
  }
  const result = { machine: machine(), rows, comparison, skipped };
  writeResult('bench/results/devices.json', result);
  return result;
}
