// The Latency view's state. A profile times the variant on every inference path this studio has — TF.js in the
// engine's own process, TF.js on the engine's compute device when that is another one (a Chromium page or
// worker threads, which 'auto' may pick for training), and onnxruntime on the ONNX export — shows the fastest
// by default, and MobileNetV2 (the paper's baseline) at the same size on the path shown.
import type { AppInfo, NetworkName, ProfileResult } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

export type PathId = 'in-process' | 'engine' | 'onnxruntime';

export interface InferencePath {
  id: PathId;
  /** The runtime and where it runs, in words. */
  label: string;
}

export interface PathResult {
  path: InferencePath;
  result: ProfileResult | null;
  /** Why this path has no figure (it failed), one line. */
  error: string | null;
}

/** The engine's device runs somewhere else than its own process: a second TF.js path worth timing. */
function engineDevice(info: AppInfo | null): string | null {
  const device = info?.backend?.device;
  return device && device.host !== 'this process' ? `${device.name} (${device.host})` : null;
}

export function inferencePaths(info: AppInfo | null): InferencePath[] {
  const elsewhere = engineDevice(info);
  return [
    { id: 'in-process', label: 'TF.js in the engine process' },
    ...(elsewhere ? [{ id: 'engine' as const, label: `TF.js on the training device, ${elsewhere}` }] : []),
    { id: 'onnxruntime', label: 'onnxruntime on the ONNX export' },
  ];
}

const requestFor = (path: PathId) => (path === 'onnxruntime' ? { runtime: 'onnxruntime' as const } : { runtime: 'tfjs' as const, device: path });

class Latency {
  variant = $state<NetworkName>('mobilevit_xxs');
  imageSize = $state(256);
  batch = $state(1);
  runs = $state(10);
  withBaseline = $state(true);
  /** Every path's answer for the variant, in the order timed. */
  paths = $state.raw<PathResult[]>([]);
  /** The path whose blocks are drawn: the fastest until the person picks another. */
  shown = $state<PathId | null>(null);
  /** MobileNetV2 on each path it was timed on (the shown one; others when picked). */
  baselines = $state.raw<Partial<Record<PathId, ProfileResult>>>({});
  /** What is being timed now, for the progress line. */
  running = $state<string | null>(null);
  problem = $state.raw<Problem | null>(null);

  get result(): ProfileResult | null {
    return this.paths.find((p) => p.path.id === this.shown)?.result ?? null;
  }

  get baseline(): ProfileResult | null {
    return (this.shown && this.baselines[this.shown]) || null;
  }

  get fastest(): PathId | null {
    const timed = this.paths.filter((p) => p.result);
    return timed.length ? timed.reduce((a, b) => (b.result!.totalMs < a.result!.totalMs ? b : a)).path.id : null;
  }

  private params() {
    return { imageSize: this.imageSize, batch: this.batch, runs: this.runs };
  }

  async profile(): Promise<void> {
    this.problem = null;
    this.paths = [];
    this.baselines = {};
    this.shown = null;
    const out: PathResult[] = [];
    try {
      for (const path of inferencePaths(studio.info)) {
        this.running = `${this.variant} · ${path.label}`;
        try {
          out.push({ path, result: await studio.request('inspect.profile', { variant: this.variant, ...this.params(), ...requestFor(path.id) }), error: null });
        } catch (e) {
          out.push({ path, result: null, error: toProblem(e, 'failed').message });
        }
        this.paths = [...out];
      }
      if (!this.fastest) {
        this.problem = {
          title: 'Could not profile the model',
          message: out.map((p) => `${p.path.label}: ${p.error}`).join('; '),
          hint: 'A smaller resolution or batch needs less memory; the Compute card below says which backend the engine runs.',
        };
        return;
      }
      await this.show(this.fastest);
    } finally {
      this.running = null;
      studio.clearProgress('inspect.profile');
    }
  }

  /** Draws another path's blocks, timing MobileNetV2 on it the first time. */
  async show(path: PathId): Promise<void> {
    this.shown = path;
    if (!this.withBaseline || this.variant === 'mobilenet_v2' || this.baselines[path]) return;
    const before = this.running;
    try {
      this.running = `mobilenet_v2 · ${this.paths.find((p) => p.path.id === path)?.path.label ?? path}`;
      const b = await studio.request('inspect.profile', { variant: 'mobilenet_v2', ...this.params(), ...requestFor(path) });
      this.baselines = { ...this.baselines, [path]: b };
    } catch (e) {
      this.problem = toProblem(e, 'Could not profile MobileNetV2');
    } finally {
      this.running = before;
      studio.clearProgress('inspect.profile');
    }
  }
}

export const latency = new Latency();
