// Inspection on a compute device: the model's weights go to the device once, then attention, receptive fields
// and per-block profiles are computed where the device keeps its tensors (this process or a Chromium page) by
// the kernel's own src/inspect code, and come back as plain data. The model stays on the device for the next
// question about the same weights (resident.ts). The in-process device takes the same path (its kernel opens
// its own copy of the model), so a command behaves alike on every backend.
import type { AttentionCapture } from '../inspect/capture.ts';
import type { RgbImage } from '../inspect/overlay.ts';
import type { ReceptiveField } from '../inspect/receptive-field.ts';
import type { AnyNetwork } from '../model/networks.ts';
import type { ProfileResult } from '../protocol/contract.ts';
import type { ComputeDevice } from './device.ts';
import { openResident } from './resident.ts';
import type { DeviceProfileOptions, Shape4 } from './wire.ts';

export class DeviceInspector {
  private constructor(private readonly device: ComputeDevice) {}

  /** Sends `model` (variant, classes, every weight) to the device unless it holds these weights already; close() releases it there. */
  static async open(device: ComputeDevice, model: AnyNetwork): Promise<DeviceInspector> {
    await openResident(device, model);
    return new DeviceInspector(device);
  }

  /** Probabilities and every layer's attention of the MobileViT blocks `only` (all: null) for one image. */
  attention(image: RgbImage, only: number[] | null): Promise<AttentionCapture> {
    return this.device.call({ op: 'attention', x: image.data, shape: shapeOf(image), only });
  }

  /**
   * Effective receptive fields after the spatial blocks at `positions` (indices into spatialBlocks), one call
   * per block so that a slow device still reports progress between them; as many at once as the device has
   * workers (wasm-workers answers them on different threads), in the order asked.
   */
  async receptiveFields(image: RgbImage, positions: number[], location: [number, number] | null,
    onProgress?: (done: number, total: number) => void): Promise<ReceptiveField[]> {
    const fields: ReceptiveField[][] = [];
    let next = 0, done = 0;
    const lane = async () => {
      while (next < positions.length) {
        const i = next++;
        fields[i] = await this.device.call({ op: 'receptive-field', x: image.data, shape: shapeOf(image), blocks: [positions[i]], location });
        onProgress?.(++done, positions.length);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.device.info.workers ?? 1) }, lane));
    return fields.flat();
  }

  /** Per-block latency timed on the device (the result names it: `device`). */
  profile(options: DeviceProfileOptions): Promise<ProfileResult> {
    return this.device.call({ op: 'profile', options });
  }

  async close(): Promise<void> {
    await this.device.call({ op: 'close' }).catch(() => undefined); // a lost device holds nothing any more
  }
}

/**
 * Runs `fn` with `model` opened on `device`, and leaves it there for the next question about the same weights
 * (inspection only reads it; the next open, step or close of anything else replaces or releases it).
 */
export async function inspectOn<T>(device: ComputeDevice, model: AnyNetwork, fn: (inspector: DeviceInspector) => Promise<T>): Promise<T> {
  return fn(await DeviceInspector.open(device, model));
}

const shapeOf = (image: RgbImage): Shape4 => [1, image.height, image.width, 3];
