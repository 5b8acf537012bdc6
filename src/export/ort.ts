// Running an exported model on onnxruntime-node (CPU). Loaded lazily: the CLI starts without it, and a
// machine where its binary cannot load gets one readable error.
import type * as OrtTypes from 'onnxruntime-node';
import { ONNX_INPUT, ONNX_OUTPUT } from './onnx.ts';

export type OrtSession = OrtTypes.InferenceSession;

let ortModule: Promise<typeof OrtTypes> | null = null;

export async function loadOrt(): Promise<typeof OrtTypes> {
  ortModule ??= import('onnxruntime-node').catch((e: unknown) => {
    ortModule = null;
    throw new Error(`onnxruntime-node cannot be loaded (${e instanceof Error ? e.message : String(e)}); reinstall with ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`);
  });
  return ortModule;
}

export interface OrtSessionOptions {
  /** Intra-op threads (default 2, the setting the peer measurements use). */
  threads?: number;
  /** Turn on onnxruntime's profiler, writing its JSON trace with this file prefix. */
  profilePrefix?: string;
}

export async function createOrtSession(model: Uint8Array | string, o: OrtSessionOptions = {}): Promise<OrtSession> {
  const ort = await loadOrt();
  const opts: OrtTypes.InferenceSession.SessionOptions = {
    intraOpNumThreads: o.threads ?? 2, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    ...(o.profilePrefix ? { enableProfiling: true, profileFilePrefix: o.profilePrefix } : {}),
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, opts) : ort.InferenceSession.create(model, opts);
}

/** NHWC (the studio's image layout) → NCHW (the ONNX model's input). */
export function nhwcToNchw(x: Float32Array, b: number, h: number, w: number, c = 3): Float32Array {
  const out = new Float32Array(x.length);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const src = ((n * h + y) * w + xx) * c;
        for (let ch = 0; ch < c; ch++) out[((n * c + ch) * h + y) * w + xx] = x[src + ch];
      }
    }
  }
  return out;
}

/** One output of a run: its values and its dims. */
export interface OrtOutput { data: Float32Array; dims: number[] }

/** The outputs `names` of a run on b NHWC images of h × w in [0, 1], copied out of onnxruntime's buffers. */
export async function runImages(session: OrtSession, nhwc: Float32Array, b: number, h: number, w: number, names: readonly string[]): Promise<OrtOutput[]> {
  const ort = await loadOrt();
  const input = new ort.Tensor('float32', nhwcToNchw(nhwc, b, h, w), [b, 3, h, w]);
  let out: OrtTypes.InferenceSession.OnnxValueMapType;
  try {
    out = await session.run({ [ONNX_INPUT]: input });
  } finally {
    input.dispose?.();
  }
  const outputs = names.map((name) => ({ data: new Float32Array(out[name].data as Float32Array), dims: out[name].dims.map(Number) }));
  for (const t of Object.values(out)) t.dispose?.();
  return outputs;
}

/** Logits [b, classes] (row-major) for a batch of NHWC images in [0, 1]. */
export async function ortLogits(session: OrtSession, nhwc: Float32Array, b: number, h: number, w: number): Promise<Float32Array> {
  const [logits] = await runImages(session, nhwc, b, h, w, [ONNX_OUTPUT]);
  return logits.data;
}
