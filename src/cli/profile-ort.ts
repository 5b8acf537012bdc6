// `profile --runtime onnxruntime`: the same network block by block on TF.js (the studio's engine) and on
// onnxruntime-node (the studio's own ONNX export, its profiler's per-node times mapped back onto the blocks),
// with parameters and MACs; several variants side by side (--variant mobilevit_xxs,mobilenet_v2). The TF.js side is
// timed on the compute device --backend names; onnxruntime-node runs in this process.
import { parseVariant } from '../model/registry/index.ts';
import { createModel } from '../model/index.ts';
import type { Profile } from '../inspect/profile.ts';
import type { ComputeDevice } from '../device/device.ts';
import { inspectOn } from '../device/inspect.ts';
import { checkFits } from '../device/heap.ts';
import { profileOnnx, type OrtProfile } from '../export/ort-profile.ts';
import { UsageError } from './args.ts';
import type { CliIO } from './command.ts';
import { fmtInt, fmtMacs, table } from './common.ts';

export interface SideBySide {
  variant: string;
  tfjs: Profile;
  onnxruntime: OrtProfile;
}

export function parseVariantList(value: string | undefined): string[] {
  if (!value) throw new UsageError('--variant is required (one or several, comma-separated: mobilevit_xxs,mobilenet_v2)');
  try {
    return value.split(',').map((v) => parseVariant(v.trim()));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export async function profileBothRuntimes(device: ComputeDevice, variant: string, o: { imageSize: number; batch: number; runs: number; warmup: number; threads: number }, onProgress?: (what: string, done: number, total: number) => void): Promise<SideBySide> {
  const { imageSize, batch, runs, warmup } = o;
  checkFits(device, { what: 'profile', variant: parseVariant(variant), size: imageSize, images: batch, kind: 'infer' });
  const model = createModel(parseVariant(variant), { numClasses: 1000, seed: 0 });
  try {
    const tfjs = await inspectOn(device, model, (inspector) => inspector.profile({ imageSize, batch, runs, warmup }));
    const onnxruntime = await profileOnnx(model, { ...o, onProgress: (d, t) => onProgress?.(`${variant} onnxruntime`, d, t) });
    return { variant, tfjs, onnxruntime };
  } finally {
    model.dispose();
  }
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

export function printSideBySide(io: CliIO, results: SideBySide[]): void {
  for (const { variant, tfjs, onnxruntime: ort } of results) {
    io.out(`\n${variant} at ${tfjs.imageSize}×${tfjs.imageSize}, batch ${tfjs.batch}: TF.js on ${tfjs.device ?? tfjs.backend} vs onnxruntime (${ort.threads} threads), medians of ${tfjs.runs} runs`);
    const rows: (string | number)[][] = [];
    tfjs.blocks.forEach((b, i) => {
      const o = ort.blocks[i];
      rows.push([b.name, b.kind, fmtInt(b.params), fmtMacs(b.macs), ms(b.ms), ms(o.ms), `${(b.ms / Math.max(o.ms, 1e-3)).toFixed(1)}×`]);
      b.parts.forEach((p, j) => {
        const op = o.parts[j];
        rows.push([`  ${p.name}`, '', '', '', ms(p.ms), ms(op.ms), '']);
        p.layers?.forEach((l, k) => rows.push([`    layer ${k}`, '', '', '', ms(l), ms(op.layers?.[k] ?? 0), '']));
      });
    });
    io.out(table(['block', 'kind', 'params', 'MACs', 'TF.js', 'onnxruntime', 'ratio'], rows));
    io.out(`end-to-end: TF.js ${ms(tfjs.totalMs)}, onnxruntime ${ms(ort.totalMs)} (kernels ${ms(ort.blocksMs)})`);
  }
  if (results.length > 1) {
    io.out('\nside by side');
    io.out(table(['variant', 'params', 'MACs', 'TF.js', 'onnxruntime', 'ORT ms per GMAC'], results.map(({ variant, tfjs, onnxruntime: ort }) => [
      variant, fmtInt(tfjs.params), fmtMacs(tfjs.macs), ms(tfjs.totalMs), ms(ort.totalMs), (ort.totalMs / (tfjs.macs / 1e9)).toFixed(1),
    ])));
  }
}

/** The JSON form: per variant, both runtimes' blocks (snake_case like the TF.js profile). */
export function sideBySideJson(results: SideBySide[]) {
  return {
    runtime: 'onnxruntime',
    variants: results.map(({ variant, tfjs, onnxruntime: ort }) => ({
      variant, image_size: tfjs.imageSize, batch: tfjs.batch, runs: tfjs.runs, params: tfjs.params, macs: tfjs.macs,
      tfjs: { backend: tfjs.backend, device: tfjs.device ?? null, total_ms: tfjs.totalMs, blocks_ms: tfjs.blocksMs },
      onnxruntime: { threads: ort.threads, total_ms: ort.totalMs, blocks_ms: ort.blocksMs },
      blocks: tfjs.blocks.map((b, i) => ({
        name: b.name, kind: b.kind, params: b.params, macs: b.macs, tfjs_ms: b.ms, onnxruntime_ms: ort.blocks[i].ms,
        parts: b.parts.map((p, j) => ({ name: p.name, tfjs_ms: p.ms, onnxruntime_ms: ort.blocks[i].parts[j].ms, ...(p.layers ? { tfjs_layers_ms: p.layers, onnxruntime_layers_ms: ort.blocks[i].parts[j].layers } : {}) })),
      })),
    })),
  };
}
