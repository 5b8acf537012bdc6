// `profile`: where a forward pass spends its time on this machine — every block, each MobileViT block
// split into its parts (and its transformer into layers) — next to parameters and multiply-adds, timed on the
// compute device --backend names (this process, or webgpu / webgl / wasm-threads in a Chromium page).
import { positiveInt, UsageError } from '../args.ts';
import type { CliCommand, CliIO } from '../command.ts';
import type { ParsedFlags } from '../args.ts';
import { DEVICE_FLAG, JSON_FLAG, NETWORK_FLAG, fmtInt, fmtMacs, table, networkFlag, inputSize, withDevice } from '../common.ts';
import type { Profile } from '../../inspect/profile.ts';
import { modelSourceFlags } from '../weights.ts';
import { requireNetworkOn, type NetworkName } from '../../model/registry/index.ts';
import { readRun } from '../../run/record.ts';

/** The JSON shape (snake_case keys). */
function toJson(p: Profile) {
  return {
    variant: p.variant, backend: p.backend, device: p.device ?? null, image_size: p.imageSize, batch: p.batch, runs: p.runs,
    timing: p.timing?.method ?? null, sync_ms: p.timing?.syncMs ?? null, syncs_per_pass: p.timing?.syncs ?? null,
    total_ms: p.totalMs, blocks_ms: p.blocksMs, params: p.params, macs: p.macs,
    blocks: p.blocks.map((b) => ({ name: b.name, label: b.label ?? null, kind: b.kind, ms: b.ms, params: b.params, macs: b.macs, parts: b.parts })),
  };
}

const ms = (v: number) => `${v.toFixed(2)} ms`;

function printText(io: CliIO, p: Profile): void {
  const share = (v: number) => `${((v / p.blocksMs) * 100).toFixed(1)}%`;
  const rows: (string | number)[][] = [];
  for (const b of p.blocks) {
    rows.push([b.label ? `${b.name} (${b.label})` : b.name, b.kind, ms(b.ms), share(b.ms), fmtInt(b.params), fmtMacs(b.macs)]);
    for (const part of b.parts) {
      rows.push([`  ${part.name}`, '', ms(part.ms), share(part.ms), '', '']);
      part.layers?.forEach((l, i) => rows.push([`    layer ${i}`, '', ms(l), share(l), '', '']));
    }
  }
  io.out(`${p.variant} at ${p.imageSize}×${p.imageSize}, batch ${p.batch}, on ${p.device ?? p.backend}: median of ${p.runs} runs`);
  io.out(table(['block', 'kind', 'time', 'share', 'params', 'MACs'], rows));
  const gap = ((p.blocksMs - p.totalMs) / p.totalMs) * 100;
  io.out(`sum of blocks ${ms(p.blocksMs)}; end-to-end ${ms(p.totalMs)} (${gap >= 0 ? '+' : ''}${gap.toFixed(1)}%); ` +
    `${fmtInt(p.params)} params; ${fmtMacs(p.macs)}MACs per pass of ${p.batch} image${p.batch > 1 ? 's' : ''}; ${((p.batch * 1000) / p.totalMs).toFixed(1)} images/s`);
  const t = p.timing;
  // The block times include one wait per boundary; on a GPU each is a real round trip, so say what it costs.
  if (t?.method === 'sync') {
    io.out(`each of the ${t.syncs} boundaries waits for the device (a 1-element read-back, ${ms(t.syncMs)} with nothing queued): ` +
      `about ${ms(t.syncMs * t.syncs)} of the sum of blocks is synchronisation; end-to-end has none`);
  }
  if (t?.method === 'cuts') {
    io.out(`each boundary timed by cutting the pass there and awaiting a read-back (${t.syncs} cuts a run, ${ms(t.syncMs)} of read-back ` +
      'latency each, which cancels out of the block times): no block waits mid-pass');
  }
}

/** --runtime onnxruntime: TF.js and onnxruntime per block, for one or several variants. */
async function profileOnnxRuntime(flags: ParsedFlags, io: CliIO): Promise<number> {
  if (flags.runtime !== 'onnxruntime') throw new UsageError(`--runtime must be tfjs or onnxruntime, got "${flags.runtime}"`);
  const [{ parseVariantList }, { taskOf }] = await Promise.all([import('../profile-ort.ts'), import('../../model/registry/index.ts')]);
  // onnxruntime's per-node times are mapped onto a classifier's graph; a dense network is profiled on TF.js.
  const dense = String(flags.variant ?? '').split(',').map((v) => v.trim()).find((v) => taskOf(v) === 'segmentation' || taskOf(v) === 'detection');
  if (dense) throw new UsageError(`--runtime onnxruntime profiles classifiers only; ${dense} is a ${taskOf(dense)} network: profile it without --runtime`);
  const variants = parseVariantList(flags.variant as string | undefined);
  const o = {
    imageSize: inputSize(positiveInt(flags, 'image-size')!, 'image-size'), batch: positiveInt(flags, 'batch')!,
    runs: positiveInt(flags, 'runs')!, warmup: flags.warmup as number, threads: positiveInt(flags, 'threads')!,
  };
  if (!Number.isInteger(o.warmup) || o.warmup < 0) throw new UsageError(`--warmup must be a non-negative integer, got "${o.warmup}"`);
  return withDevice(flags, io, async ({ device }) => {
    const { printSideBySide, profileBothRuntimes, sideBySideJson } = await import('../profile-ort.ts');
    const results = [];
    for (const v of variants) results.push(await profileBothRuntimes(device, v, o, flags.json ? undefined : (what, d, t) => io.err(`  ${what} pass ${d}/${t}`)));
    if (flags.json) io.out(JSON.stringify(sideBySideJson(results)));
    else printSideBySide(io, results);
    return 0;
  });
}

/** The network a run trained: its settings name the task and the backbone, the registry the network on it. */
function networkOfRun(run: string): NetworkName {
  const { task, variant } = readRun(run).settings;
  return requireNetworkOn(task, variant);
}

export const command: CliCommand = {
  name: 'profile',
  summary: 'per-block latency (MobileViT blocks and the ASPP split into their parts), params and MACs on this machine',
  flags: {
    variant: NETWORK_FLAG,
    weights: { type: 'string', description: 'a zoo model, weights file or run folder: profiles its variant (latency does not depend on the values)' },
    run: { type: 'string', description: 'a training run folder: profiles its variant' },
    'image-size': { type: 'number', description: 'input size in pixels', default: 256 },
    batch: { type: 'number', description: 'images per forward pass', default: 1 },
    runs: { type: 'number', description: 'measured runs (the median is reported)', default: 10 },
    warmup: { type: 'number', description: 'unmeasured runs first', default: 2 },
    runtime: { type: 'string', description: 'tfjs (default) | onnxruntime: both runtimes block by block, several variants side by side (--variant a,b)' },
    threads: { type: 'number', description: 'onnxruntime intra-op threads (default 2)', default: 2 },
    clock: { type: 'string', description: 'wall (default) | cpu: this process\'s CPU time, so other processes\' load drops out (in-process wasm or cpu only)', default: 'wall' },
    backend: DEVICE_FLAG,
    json: JSON_FLAG,
  },
  async run(flags, io) {
    if (flags.runtime !== undefined && flags.runtime !== 'tfjs') return profileOnnxRuntime(flags, io);
    const source = await modelSourceFlags(flags, io); // a run or zoo name gives the variant (a zoo model is pulled when not cached)
    const variant = source.run === undefined ? networkFlag(flags) : networkOfRun(source.run);
    const imageSize = inputSize(positiveInt(flags, 'image-size')!, 'image-size');
    const batch = positiveInt(flags, 'batch')!;
    const runs = positiveInt(flags, 'runs')!;
    const warmup = flags.warmup as number;
    if (!Number.isInteger(warmup) || warmup < 0) throw new UsageError(`--warmup must be a non-negative integer, got "${warmup}"`);
    const clock = flags.clock as string;
    if (clock !== 'wall' && clock !== 'cpu') throw new UsageError(`--clock must be wall or cpu, got "${clock}"`);
    return withDevice(flags, io, async ({ device }) => {
      const [{ hasCpuClock }, { inspectOn }, { createNetwork }, { checkFits }] = await Promise.all([
        import('../../device/device.ts'), import('../../device/inspect.ts'), import('../../model/networks.ts'), import('../../device/heap.ts'),
      ]);
      if (clock === 'cpu' && !hasCpuClock(device))
        throw new UsageError(`--clock cpu measures single-threaded in-process backends only (wasm, cpu), not ${device.info.name}`);
      // Latency does not depend on the weights: a seeded random init with the family's default outputs.
      const model = createNetwork(variant);
      try {
        checkFits(device, { what: 'profile', variant: model.variant, size: imageSize, images: batch, kind: 'infer' });
        if (!flags.json) io.err(`profiling ${variant}: ${warmup} warm-up and ${runs} timed passes`);
        const p = await inspectOn(device, model, (inspector) => inspector.profile({ imageSize, batch, runs, warmup, clock }));
        if (flags.json) io.out(JSON.stringify(toJson(p)));
        else printText(io, p);
        return 0;
      } finally {
        model.dispose();
      }
    });
  },
};
