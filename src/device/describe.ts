// One line for a user: which device computes, and where ("webgpu in headless Chromium 150.0.7871.100
// (swiftshader / google, a software adapter: correct but slow)"). Free of tfjs and Node, so the device page's
// kernel can stamp it on what it measures (a profile names the device that timed it).
import type { DeviceInfo } from './wire.ts';

export function describeDeviceInfo({ name, host, adapter, software }: DeviceInfo): string {
  return `${name} in ${host}${adapter ? ` (${adapter}${software ? ', a software adapter: correct but slow' : ''})` : ''}`;
}

/** The same line for an open device. */
export function describeDevice(device: { info: DeviceInfo }): string {
  return describeDeviceInfo(device.info);
}
