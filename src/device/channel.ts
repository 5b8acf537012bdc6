// A DeviceChannel to a device page over any message transport (an Electron MessagePort, a WebSocket), and the
// page's hello that turns it into a ChannelDevice. The page's side is page/entry.ts: while it sets up its backend
// it says each step ({starting: label}); then its hello, {ready: DeviceInfo} or {failed: reason}; then replies
// {id, ok, …}; {lost: reason} when its GPU goes away.
import { ChannelDevice, type DeviceChannel } from './device.ts';
import { StartWatch } from './start-watch.ts';
import type { DeviceInfo, DeviceReply } from './wire.ts';

/** One end of a transport, messages already decoded. */
export interface Endpoint {
  send(message: unknown): void;
  onMessage(fn: (message: unknown) => void): void;
  /** The other end went away (crashed, closed), with why in a user's words. */
  onClose(fn: (why: string) => void): void;
  close(): void;
}

export type Hello = { ready: DeviceInfo } | { failed: string } | { closed: string };

export interface PageChannel extends DeviceChannel {
  /** The page's first message, or {closed} when the channel closed before it came. */
  readonly hello: Promise<Hello>;
  /** Closes the channel for a reason learnt elsewhere (its window's renderer crashed): pending calls fail with it. */
  fail(why: string): void;
  /** The steps the page says it takes before its hello. */
  onStarting(fn: (step: string) => void): void;
}

export function pageChannel(endpoint: Endpoint): PageChannel {
  const replies: ((r: DeviceReply) => void)[] = [];
  const closes: ((why: string) => void)[] = [];
  const steps: ((step: string) => void)[] = [];
  let closedWhy: string | null = null;
  let greeted = false;
  let greet!: (h: Hello) => void;
  const hello = new Promise<Hello>((resolve) => (greet = resolve));
  const closeWith = (why: string) => {
    if (closedWhy !== null) return;
    closedWhy = why;
    greet({ closed: why }); // no-op once the hello came
    for (const c of closes) c(why);
  };
  endpoint.onMessage((message) => {
    if (closedWhy !== null) return;
    const m = (message && typeof message === 'object' ? message : {}) as { id?: unknown; lost?: unknown; ready?: DeviceInfo; failed?: unknown; starting?: unknown };
    if (!greeted && typeof m.starting === 'string') {
      for (const s of steps) s(m.starting.slice(0, 200));
    } else if (!greeted) {
      greeted = true;
      greet(m.ready ? { ready: m.ready } : { failed: typeof m.failed === 'string' ? m.failed : 'the page sent no ready message' });
    } else if (typeof m.lost === 'string') {
      closeWith(m.lost);
      endpoint.close();
    } else if (typeof m.id === 'number') {
      for (const r of replies) r(m as DeviceReply);
    }
  });
  endpoint.onClose(closeWith);
  const fail = (why: string) => {
    closeWith(why);
    endpoint.close();
  };
  return {
    hello,
    send: (call) => {
      if (closedWhy === null) endpoint.send(call);
    },
    onReply: (fn) => void replies.push(fn),
    // A listener that comes after the close (the page died between its hello and the device's construction) still hears it.
    onClose: (fn) => (closedWhy !== null ? fn(closedWhy) : void closes.push(fn)),
    close: () => fail('closed by the engine'),
    fail,
    onStarting: (fn) => void steps.push(fn),
  };
}

export interface PageDeviceStart {
  backend: string;
  /** Where the page runs, in a user's words ("headless Chromium 140", "Electron hidden window (Chromium 140)"). */
  host: string;
  /** How long the page may take no step of its start (a slow start that keeps moving is given the time it needs). */
  timeoutMs: number;
  /** Frees what hosts the page; called here when the page does not start, else by the device's close(). */
  release: () => Promise<void>;
  /** The start so far (the browser's launch, the page's load), to go on watching; else one is made here. */
  watch?: StartWatch;
  signal?: AbortSignal;
  onNote?: (note: string) => void;
}

/** The device once the page says ready; else rejects with the page's reason, having released its host. */
export async function openPageDevice(channel: PageChannel, start: PageDeviceStart): Promise<ChannelDevice> {
  const { backend, host, timeoutMs } = start;
  const watch = start.watch ?? new StartWatch({ what: `${backend} in ${host}`, stallMs: timeoutMs, signal: start.signal, onNote: start.onNote });
  channel.onStarting((step) => watch.stepTo(step));
  watch.stepTo('waiting for the device page to set up its backend');
  try {
    const hello = await watch.guard(channel.hello);
    if ('ready' in hello) return new ChannelDevice(hello.ready, channel, start.release);
    throw new Error('failed' in hello
      ? `${backend} cannot be used in ${host}: ${hello.failed}`
      : `the ${backend} device page in ${host} went away before it started: ${hello.closed}`);
  } catch (e) {
    channel.close();
    await start.release();
    throw e;
  } finally {
    watch.end();
  }
}

/**
 * Electron's MessagePortMain (what a utilityProcess receives), or anything shaped like it: 'message' events
 * carry {data}, and messages queue until start().
 */
export interface MessagePortMainLike {
  postMessage(message: unknown): void;
  on(event: 'message', fn: (e: { data: unknown }) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
  start(): void;
  close(): void;
}

/** An endpoint over a MessagePortMain (structured clone: typed arrays and Maps cross as they are, no frames). */
export function portEndpoint(port: MessagePortMainLike, closedWhy: string): Endpoint {
  return {
    send: (m) => port.postMessage(m),
    onMessage: (fn) => {
      port.on('message', (e) => fn(e.data));
      port.start();
    },
    onClose: (fn) => void port.on('close', () => fn(closedWhy)),
    close: () => port.close(),
  };
}
