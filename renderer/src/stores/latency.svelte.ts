// The Latency view's state: what to profile and the answers, for the chosen variant and for MobileNetV2
// (the paper's baseline) at the same input size, on the same backend or runtime (TF.js or onnxruntime).
import type { ProfileResult, VariantName } from '../../../src/protocol/contract.ts';
import { toProblem, type Problem } from '../lib/errors.ts';
import { studio } from './studio.svelte.ts';

class Latency {
  variant = $state<VariantName>('mobilevit_xxs');
  imageSize = $state(256);
  batch = $state(1);
  runs = $state(10);
  withBaseline = $state(true);
  /** tfjs: the studio's engine; onnxruntime: the studio's ONNX export on onnxruntime-node. */
  runtime = $state<'tfjs' | 'onnxruntime'>('tfjs');
  result = $state.raw<ProfileResult | null>(null);
  baseline = $state.raw<ProfileResult | null>(null);
  /** Which model is being profiled now, for the progress line. */
  running = $state<VariantName | null>(null);
  problem = $state.raw<Problem | null>(null);

  async profile(): Promise<void> {
    this.problem = null;
    const params = { imageSize: this.imageSize, batch: this.batch, runs: this.runs, runtime: this.runtime };
    try {
      this.running = this.variant;
      this.result = await studio.request('inspect.profile', { variant: this.variant, ...params });
      this.baseline = null;
      if (this.withBaseline && this.variant !== 'mobilenet_v2') {
        this.running = 'mobilenet_v2';
        this.baseline = await studio.request('inspect.profile', { variant: 'mobilenet_v2', ...params });
      }
    } catch (e) {
      this.problem = toProblem(e, 'Could not profile the model');
    } finally {
      this.running = null;
      studio.clearProgress('inspect.profile');
    }
  }
}

export const latency = new Latency();
