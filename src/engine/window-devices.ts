// Page devices of the Electron engine: each lives in a hidden window that the main process opens on request
// (electron/device-window.ts) and reaches over a MessagePort that main hands to both ends. main.ts hands open()
// to the device choice (device/choice.ts) as its page opener under Electron; the CLI keeps headless Chromium.
import type { PageBackend } from '../backend/names.ts';
import { openPageDevice, pageChannel, portEndpoint, type MessagePortMainLike, type PageChannel } from '../device/channel.ts';
import { START_STALL_MS, StartWatch } from '../device/start-watch.ts';
import type { ComputeDevice } from '../device/device.ts';
import type { PageOpenOptions } from '../device/choice.ts';
import { asWindowReply, isDeviceMessage, type WindowRequest } from '../device/window-messages.ts';

const PORT_CLOSED = "the hidden window's port closed (its renderer crashed, or the window was closed)";

export class WindowDevices {
  private nextId = 1;
  /** Opens waiting for main's answer. */
  private readonly waiting = new Map<number, { resolve: (r: { port: MessagePortMainLike; host: string }) => void; reject: (e: Error) => void }>();
  /** Channels handed over, so that main's word of a crash reaches them. */
  private readonly live = new Map<number, PageChannel>();

  /** `post` reaches the main process; `startTimeoutMs`: how long the window's load, or a step of the page's start, may take. */
  constructor(private readonly post: (m: WindowRequest) => void, private readonly startTimeoutMs = START_STALL_MS) {}

  /** Takes main's answers (returns true for them); anything else is the service's. */
  receive(message: unknown, ports: readonly unknown[]): boolean {
    if (!isDeviceMessage(message)) return false;
    const reply = asWindowReply(message);
    if (!reply) return true; // malformed: nobody to answer, and the service's parser would only log it too
    if (reply.type === 'device.lost') {
      this.live.get(reply.id)?.fail(reply.reason);
      return true;
    }
    const w = this.waiting.get(reply.id);
    this.waiting.delete(reply.id);
    const port = ports[0] as MessagePortMainLike | undefined;
    if (!w) port?.close(); // the open gave up before main answered: let the page go
    else if (reply.type === 'device.error') w.reject(new Error(reply.error));
    else if (!port) w.reject(new Error('the main process answered without a port'));
    else w.resolve({ port, host: reply.host });
    return true;
  }

  async open(backend: PageBackend, opts: Partial<PageOpenOptions> = {}): Promise<ComputeDevice> {
    const id = this.nextId++;
    const release = async () => {
      this.waiting.delete(id);
      this.live.delete(id);
      this.post({ type: 'device.close', id });
    };
    opts.onNote?.(`starting ${backend} in a hidden window`);
    // One watch over the window's load and the page's steps: slow is fine, stalled is not (start-watch.ts).
    const watch = new StartWatch({ what: `${backend} in a hidden window`, stallMs: this.startTimeoutMs, signal: opts.signal, onNote: opts.onNote });
    watch.stepTo('loading the hidden window');
    let handed: { port: MessagePortMainLike; host: string };
    try {
      const answer = new Promise<typeof handed>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
      this.post({ type: 'device.open', id, backend });
      handed = await watch.guard(answer);
    } catch (e) {
      watch.end();
      await release();
      throw new Error(`cannot open a ${backend} device in a hidden window: ${(e as Error).message}`);
    }
    const channel = pageChannel(portEndpoint(handed.port, PORT_CLOSED));
    this.live.set(id, channel);
    return openPageDevice(channel, { backend, host: handed.host, timeoutMs: this.startTimeoutMs, release, watch });
  }
}

