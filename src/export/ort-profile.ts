// Per-block latency on onnxruntime: the studio's own ONNX export runs with onnxruntime's profiler on, and
// every node's kernel time is charged to the block its name starts with (node names are
// `<block>/<module path>/<Op>`, e.g. `stages.2.1/transformer.0/attn/Softmax`). Nodes onnxruntime adds itself
// (NCHWc layout reorders) are charged to the block that runs before them. MobileViT blocks are split into
// the same parts as the TF.js profile (local, unfold, transformer with its layers, fold, projection, fusion).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Model } from '../model/index.ts';
import { PART_NAMES, type PartName } from '../model/types.ts';
import { summarize } from '../model/summary.ts';
import { exportOnnx } from './onnx.ts';
import { createOrtSession, loadOrt } from './ort.ts';
import { median } from '../util/median.ts';

export interface OrtPartTiming {
  name: PartName;
  ms: number;
  layers?: number[];
}

export interface OrtBlockTiming {
  name: string;
  kind: string;
  /** Median over the measured runs of the block's summed kernel times. */
  ms: number;
  params: number;
  parts: OrtPartTiming[];
}

export interface OrtProfile {
  variant: string;
  runtime: 'onnxruntime';
  threads: number;
  imageSize: number;
  batch: number;
  runs: number;
  /** Median wall time of session.run as onnxruntime's profiler records it (model_run). */
  totalMs: number;
  /** Sum of the blocks' medians (kernel time only). */
  blocksMs: number;
  blocks: OrtBlockTiming[];
}

interface TraceEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
}

/** Which MobileViT part a module path (the second segment of a node name) belongs to. */
export function partOf(module: string): PartName | null {
  if (module === 'conv_kxk' || module === 'conv_1x1') return 'local';
  if (module === 'unfold') return 'unfold';
  if (module.startsWith('transformer.') || module === 'norm') return 'transformer';
  if (module === 'fold') return 'fold';
  if (module === 'conv_proj') return 'projection';
  if (module === 'conv_fusion' || module === 'concat') return 'fusion';
  return null;
}


/**
 * Aggregates a profiler trace: per measured run (the last `runs` model_run windows), each block's kernel
 * time, its parts and its transformer layers; then the median over runs.
 */
export function aggregateTrace(events: TraceEvent[], blocks: { name: string; kind: string; params: number }[], runs: number) {
  const windows = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts).slice(-runs);
  if (windows.length < runs) throw new Error(`onnxruntime's profile has ${windows.length} runs, expected ${runs}`);
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).sort((a, b) => a.ts - b.ts);
  const names = new Set(blocks.map((b) => b.name));
  type RunTimes = { block: Map<string, number>; part: Map<string, number>; layer: Map<string, number> };
  const perRun: RunTimes[] = windows.map((w) => {
    const t: RunTimes = { block: new Map(), part: new Map(), layer: new Map() };
    let last = blocks[0].name;
    let lastModule = '';
    const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
    for (const e of nodes) {
      if (e.ts < w.ts || e.ts > w.ts + w.dur) continue;
      const [head, module = ''] = e.name.split('/');
      const own = names.has(head);
      const block = own ? head : last;
      const mod = own ? module : lastModule;
      const ms = e.dur / 1000;
      add(t.block, block, ms);
      const part = partOf(mod);
      if (part) add(t.part, `${block}|${part}`, ms);
      if (mod.startsWith('transformer.')) add(t.layer, `${block}|${mod.slice('transformer.'.length)}`, ms);
      last = block;
      lastModule = mod;
    }
    return t;
  });
  const timings = blocks.map((b): OrtBlockTiming => {
    const parts = b.kind !== 'mobilevit' ? [] : PART_NAMES.map((name): OrtPartTiming => {
      const ms = median(perRun.map((r) => r.part.get(`${b.name}|${name}`) ?? 0));
      if (name !== 'transformer') return { name, ms };
      const count = [...perRun[0].layer.keys()].filter((k) => k.startsWith(`${b.name}|`)).length;
      return { name, ms, layers: Array.from({ length: count }, (_, l) => median(perRun.map((r) => r.layer.get(`${b.name}|${l}`) ?? 0))) };
    });
    return { name: b.name, kind: b.kind, ms: median(perRun.map((r) => r.block.get(b.name) ?? 0)), params: b.params, parts };
  });
  return { totalMs: median(windows.map((w) => w.dur / 1000)), blocks: timings };
}

export interface OrtProfileOptions {
  imageSize?: number;
  batch?: number;
  runs?: number;
  warmup?: number;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Exports `model`, runs it `warmup + runs` times on onnxruntime with its profiler, and maps the nodes back to blocks. */
export async function profileOnnx(model: Model, o: OrtProfileOptions = {}): Promise<OrtProfile> {
  const imageSize = o.imageSize ?? 256;
  const batch = o.batch ?? 1;
  const runs = o.runs ?? 10;
  const warmup = o.warmup ?? 2;
  const threads = o.threads ?? 2;
  const ort = await loadOrt();
  const dir = mkdtempSync(join(tmpdir(), 'mvs-ort-profile-'));
  try {
    const session = await createOrtSession(exportOnnx(model, { imageSize }), { threads, profilePrefix: join(dir, 'trace') });
    // A fixed pseudo-random input (latency does not depend on the values).
    const data = new Float32Array(batch * 3 * imageSize * imageSize);
    for (let i = 0, s = 12345; i < data.length; i++) data[i] = ((s = (s * 1103515245 + 12345) >>> 0) % 1000) / 1000;
    const input = new ort.Tensor('float32', data, [batch, 3, imageSize, imageSize]);
    for (let i = 0; i < warmup + runs; i++) {
      await session.run({ pixels: input });
      o.onProgress?.(i + 1, warmup + runs);
    }
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('onnxruntime wrote no profile');
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as TraceEvent[];
    const { totalMs, blocks } = aggregateTrace(events, model.blocks(), runs);
    return {
      variant: model.variant, runtime: 'onnxruntime', threads, imageSize, batch, runs,
      totalMs, blocksMs: blocks.reduce((s, b) => s + b.ms, 0), blocks,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The onnxruntime profile in the shape of the TF.js one (the contract's ProfileResult), so the Latency view
 * draws either: per-block MACs come from the model's own forward pass (summarize), times per `batch` images.
 */
export async function profileOnnxAsResult(model: Model, o: OrtProfileOptions = {}) {
  const p = await profileOnnx(model, o);
  const summary = summarize(model, p.imageSize);
  const macs = new Map(summary.blocks.map((b) => [b.name, b.macs * p.batch]));
  const blocks = p.blocks.map((b) => ({ name: b.name, kind: b.kind, ms: b.ms, params: b.params, macs: macs.get(b.name) ?? 0, parts: b.parts }));
  return {
    variant: model.variant, backend: `onnxruntime (${p.threads} thread${p.threads > 1 ? 's' : ''})`, imageSize: p.imageSize, batch: p.batch, runs: p.runs,
    totalMs: p.totalMs, blocksMs: p.blocksMs, params: model.paramCount(), macs: blocks.reduce((s, b) => s + b.macs, 0), blocks,
  };
}
