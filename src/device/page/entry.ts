// The compute device page: sets up the backend named in the URL's fragment (webgpu, webgl or wasm-threads),
// then answers the engine's DeviceCalls with a DeviceKernel, one call at a time. The engine reaches it
//   - from the CLI, `serve` and tests: a WebSocket back to the engine (#ws=…, frames of wire.ts);
//   - in Electron: a MessagePort the hidden window's preload hands over (#transport=port, structured clone).
// While it sets up it says each step ({starting: label}: a slow start that keeps moving is not given up on); then
// {ready: DeviceInfo} or {failed: reason}; a lost GPU device closes the channel.
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { setThreadsCount, setWasmPaths, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { isPageBackend, type PageBackend } from '../../backend/names.ts';
import { registerWasmGradKernels } from '../../backend/wasm-grad-kernels.ts';
import { DeviceKernel } from '../kernel.ts';
import { decodeFrame, encodeFrame, type DeviceCall, type DeviceInfo } from '../wire.ts';
import { DEVICE_PORT_MESSAGE } from '../window-messages.ts';

interface PageChannel {
  send(message: unknown): void;
  onMessage(fn: (message: unknown) => void): void;
  close(): void;
}

const keepAlive: unknown[] = [];

const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

async function setUp(backend: PageBackend, say: (step: string) => void): Promise<Omit<DeviceInfo, 'name' | 'host'>> {
  if (backend === 'webgpu') {
    say('requesting a WebGPU adapter');
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('WebGPU has no adapter on this machine');
    const limits = adapter.limits;
    say('creating the WebGPU device');
    // TF.js's own factory asks for the same limits but drops its adapter: once no adapter is referenced,
    // Chromium can release the GPU instance under the device ("A valid external Instance reference no longer
    // exists") and the run loses its device minutes in. This page makes the device and keeps both.
    const device = await adapter.requestDevice({
      requiredFeatures: (['timestamp-query', 'bgra8unorm-storage'] as GPUFeatureName[]).filter((f) => adapter.features.has(f)),
      requiredLimits: {
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      },
    });
    keepAlive.push(adapter, device);
    say("setting up TF.js's webgpu backend");
    tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info), 3);
    if (!(await tf.setBackend('webgpu'))) throw new Error('the TF.js webgpu backend failed to initialise');
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const name = [info.description, info.architecture, info.vendor].filter(Boolean).join(' / ') || 'unnamed adapter';
    const software = info.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || SOFTWARE.test(name);
    return { tfBackend: 'webgpu', adapter: name, software };
  }
  if (backend === 'webgl') {
    say("setting up TF.js's webgl backend");
    if (!(await tf.setBackend('webgl'))) throw new Error('the TF.js webgl backend failed to initialise (no WebGL2 here?)');
    const gl = document.createElement('canvas').getContext('webgl2');
    const ext = gl?.getExtension('WEBGL_debug_renderer_info');
    const name = (ext && gl ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : gl ? String(gl.getParameter(gl.RENDERER)) : '') || 'unnamed renderer';
    return { tfBackend: 'webgl', adapter: name, software: SOFTWARE.test(name) };
  }
  if (!crossOriginIsolated) throw new Error('threaded wasm needs a cross-origin isolated page (COOP/COEP headers)');
  setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  // TF.js defaults to half the cores; the page is the engine's only compute, so it takes them all.
  setThreadsCount(navigator.hardwareConcurrency || 1);
  registerWasmGradKernels();
  say("compiling TF.js's threaded wasm backend");
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend failed to initialise');
  const threads = getThreadsCount();
  return { tfBackend: 'wasm', adapter: `${threads} thread(s), SIMD`, software: false, threads };
}

function webSocketChannel(url: string): Promise<PageChannel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const handlers: ((m: unknown) => void)[] = [];
    ws.onmessage = (e) => {
      let message: unknown;
      try {
        message = decodeFrame(e.data as ArrayBuffer);
      } catch (err) {
        // Nothing to answer (no id): say why and close, so the engine fails the call instead of waiting.
        ws.send(encodeFrame({ lost: (err as Error).message }));
        ws.close();
        return;
      }
      for (const h of handlers) h(message);
    };
    ws.onopen = () => resolve({
      send: (m) => ws.send(encodeFrame(m)),
      onMessage: (fn) => handlers.push(fn),
      close: () => ws.close(),
    });
    ws.onerror = () => reject(new Error(`cannot reach the engine at ${new URL(url).host}`));
  });
}

function portChannel(): Promise<PageChannel> {
  return new Promise((resolve) => {
    window.addEventListener('message', function take(e: MessageEvent) {
      if (e.source !== window || e.data !== DEVICE_PORT_MESSAGE || !e.ports[0]) return;
      window.removeEventListener('message', take);
      const port = e.ports[0];
      resolve({
        send: (m) => port.postMessage(m),
        onMessage: (fn) => { port.onmessage = (ev) => fn(ev.data); },
        close: () => port.close(),
      });
    });
  });
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.hash.slice(1));
  const wsUrl = params.get('ws');
  const channel = wsUrl ? await webSocketChannel(wsUrl) : await portChannel();
  const backend = params.get('backend') ?? '';
  let info: DeviceInfo;
  try {
    if (!isPageBackend(backend)) throw new Error(`unknown page backend "${backend}"`);
    info = { name: backend, host: params.get('host') ?? navigator.userAgent, ...(await setUp(backend, (step) => channel.send({ starting: step }))) };
  } catch (e) {
    channel.send({ failed: (e as Error).message ?? String(e) });
    return;
  }
  const kernel = new DeviceKernel(() => info);
  // One call at a time, in order: the kernel holds one model and its optimizer.
  let queue = Promise.resolve();
  channel.onMessage((message) => {
    const call = message as DeviceCall;
    queue = queue.then(async () => {
      try {
        channel.send({ id: call.id, ok: true, result: await kernel.handle(call) });
      } catch (e) {
        channel.send({ id: call.id, ok: false, error: (e as Error).message ?? String(e) });
      }
    });
  });
  // A GPU reset or a removed adapter: say so and close, so the engine fails the call instead of waiting.
  const gpuDevice = (tf.backend() as unknown as { device?: { lost?: Promise<{ message: string }> } }).device;
  gpuDevice?.lost?.then((lost) => {
    channel.send({ lost: `the GPU device was lost: ${lost.message || 'no reason given'}` });
    channel.close();
  });
  channel.send({ ready: info });
}

void main();
