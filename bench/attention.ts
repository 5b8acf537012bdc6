// The cost of looking inside: a forward pass that captures every MobileViT block's attention (kept,
// then read back to the host) against a plain forward pass, per variant, batch 1, on the active backend.
// Also the cost of answering one query on the captured weights (rollout of block 0: the heaviest).
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.ts';
import { table } from '../src/cli/common.ts';
import { answerQuery } from '../src/inspect/attention.ts';
import { captureAttention } from '../src/inspect/capture.ts';
import { imageTensor, randomImage } from '../src/inspect/image.ts';
import { createModel, type VariantName } from '../src/model/index.ts';
import { machine, median, writeResult } from './machine.ts';

export interface AttentionBenchRow {
  variant: VariantName;
  plain_ms: number;
  capture_ms: number;
  overhead_pct: number;
  /** Attention weights read back, all blocks and layers. */
  captured_mb: number;
  /** One rollout query (block 0, mean over heads and pixels) on the captured weights, in JS. */
  rollout_query_ms: number;
  runs: number;
}

export async function benchAttention(opts: { runs?: number; size?: number; backend?: string; variants?: VariantName[] } = {}) {
  const runs = opts.runs ?? 10;
  const size = opts.size ?? 256;
  const report = await initBackend(opts.backend);
  const rows: AttentionBenchRow[] = [];
  for (const variant of opts.variants ?? (['mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s'] as const)) {
    const model = createModel(variant, { numClasses: 1000 });
    const x = imageTensor(randomImage(size, 0));
    const plain = () => {
      const t0 = performance.now();
      const y = model.forward(x);
      y.dataSync();
      y.dispose();
      return performance.now() - t0;
    };
    const capture = async () => {
      const t0 = performance.now();
      const c = await captureAttention(model, x);
      return { ms: performance.now() - t0, capture: c };
    };
    for (let i = 0; i < 2; i++) (plain(), await capture());
    // Interleaved, so that both see the same machine state.
    const plainTimes: number[] = [];
    const captureTimes: number[] = [];
    let last: Awaited<ReturnType<typeof capture>>['capture'] | undefined;
    for (let i = 0; i < runs; i++) {
      plainTimes.push(plain());
      const c = await capture();
      captureTimes.push(c.ms);
      last = c.capture;
    }
    const bytes = last!.blocks.reduce((s, b) => s + b.layers.reduce((t, l) => t + l.byteLength, 0), 0);
    const queryTimes = Array.from({ length: 3 }, () => {
      const t0 = performance.now();
      answerQuery(last!.blocks[0], { layer: 'rollout', head: 'mean', patch: [0, 0], pixel: 'mean' }, [size, size]);
      return performance.now() - t0;
    });
    const p = median(plainTimes);
    const c = median(captureTimes);
    rows.push({
      variant, plain_ms: +p.toFixed(2), capture_ms: +c.toFixed(2), overhead_pct: +(((c - p) / p) * 100).toFixed(1),
      captured_mb: +(bytes / 2 ** 20).toFixed(1), rollout_query_ms: +median(queryTimes).toFixed(1), runs,
    });
    console.log(`${variant}: plain ${p.toFixed(1)} ms, with attention capture ${c.toFixed(1)} ms`);
    x.dispose();
    model.dispose();
  }
  console.log(`\nAttention capture overhead, ${report.name}, batch 1, ${size}×${size} (median of ${runs} interleaved runs after 2 warm-up runs)`);
  console.log(table(['variant', 'plain ms', 'capture ms', 'overhead %', 'captured MB', 'rollout query ms'],
    rows.map((r) => [r.variant, r.plain_ms, r.capture_ms, r.overhead_pct, r.captured_mb, r.rollout_query_ms])));
  const result = { machine: machine(), backend: report.name, size, batch: 1, rows };
  writeResult('bench/results/attention.json', result);
  return result;
}
