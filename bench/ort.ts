// Per-block latency on onnxruntime-node (the studio's own ONNX export, its profiler's node times mapped
// onto the blocks) beside TF.js, every variant at 256 px, batch 1; plus, where the shared fixtures are
// present, timm's own ONNX export of the same network timed in the same process (a check on the export).
import { initBackend } from '../src/backend/index.ts';
import { LocalDevice } from '../src/device/device.ts';
import { VARIANT_NAMES } from '../src/model/index.ts';
import { table } from '../src/cli/common.ts';
import { profileBothRuntimes, sideBySideJson, type SideBySide } from '../src/cli/profile-ort.ts';
import { machine, median, writeResult } from './machine.ts';
import { openPeer } from './peer.ts';

/** timm's export: median session.run ms after 3 warm-up runs (null where the file is missing). */
async function peerMs(variant: string, runs: number, threads: number): Promise<number | null> {
  const peer = await openPeer(variant, threads);
  if (!peer) return null;
  const times: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const ms = await peer.once();
    if (i >= 3) times.push(ms);
  }
  await peer.release();
  return median(times);
}

export async function benchOrt(opts: { runs?: number; size?: number; threads?: number } = {}) {
  const runs = opts.runs ?? 10;
  const size = opts.size ?? 256;
  const threads = opts.threads ?? 2;
  const report = await initBackend('wasm');
  const device = new LocalDevice(report.name);
  const results: SideBySide[] = [];
  const peers: Record<string, number | null> = {};
  for (const variant of VARIANT_NAMES) {
    results.push(await profileBothRuntimes(device, variant, { imageSize: size, batch: 1, runs, warmup: 3, threads }));
    peers[variant] = size === 256 ? await peerMs(variant, runs, threads) : null;
    console.log(`${variant}: TF.js ${results.at(-1)!.tfjs.totalMs.toFixed(1)} ms, onnxruntime ${results.at(-1)!.onnxruntime.totalMs.toFixed(1)} ms`);
  }
  console.log(`\nPer-block latency, batch 1, ${size}×${size}: TF.js ${report.tfBackend} vs onnxruntime-node (${threads} threads), medians of ${runs} runs`);
  for (const r of results) {
    console.log(`\n${r.variant}`);
    console.log(table(['block', 'MACs (M)', 'TF.js ms', 'ORT ms'], r.tfjs.blocks.map((b, i) => [b.name, +(b.macs / 1e6).toFixed(1), +b.ms.toFixed(2), +r.onnxruntime.blocks[i].ms.toFixed(2)])));
  }
  console.log('\nEnd to end');
  console.log(table(['variant', 'GMACs', 'TF.js ms', 'ORT ms (studio export)', 'ORT ms (timm export)'], results.map((r) => [
    r.variant, +(r.tfjs.macs / 1e9).toFixed(3), +r.tfjs.totalMs.toFixed(1), +r.onnxruntime.totalMs.toFixed(1), peers[r.variant] === null ? '–' : +peers[r.variant]!.toFixed(1),
  ])));
  const result = { machine: machine(), size, batch: 1, threads, ...sideBySideJson(results), timm_export_ms: peers };
  writeResult('bench/results/ort.json', result);
  return result;
}
