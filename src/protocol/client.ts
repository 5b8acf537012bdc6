// The renderer's side of the contract: one typed StudioClient over two transports, Electron's preload
// bridge (window.studio) and the browser mode's WebSocket. Results and events are validated here too,
// since they cross a process boundary. No Node, no tfjs: this is bundled into the renderer.
import {
  events as eventSchemas,
  isEventName,
  requests,
  describeZodError,
  ErrorInfo,
  StudioError,
  type EventName,
  type EventPayload,
  type Params,
  type RequestName,
  type Result,
  type StudioBridge,
  type StudioClient,
} from './contract.ts';
import { ServerFrame, type Reply } from './wire.ts';

/** Moves untyped requests and events; the client adds typing and validation on top. */
export interface Transport {
  send(method: RequestName, params: unknown): Promise<Reply>;
  /** Registers the single event sink. */
  listen(sink: (event: string, payload: unknown) => void): void;
}

export function createClient(transport: Transport): StudioClient {
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  transport.listen((event, payload) => {
    if (!isEventName(event)) return; // an event from a newer studio: ignore rather than fail
    const parsed = eventSchemas[event].safeParse(payload);
    if (!parsed.success) {
      console.warn(`studio: dropped malformed ${event} event: ${describeZodError(parsed.error)}`);
      return;
    }
    for (const cb of listeners.get(event) ?? []) {
      try {
        (cb as (p: unknown) => void)(parsed.data);
      } catch (e) {
        console.error(`studio: a ${event} listener threw`, e);
      }
    }
  });
  return {
    async request<K extends RequestName>(name: K, params: Params<K>): Promise<Result<K>> {
      // Validate before sending: the user sees the same message without a round trip.
      const p = requests[name].params.safeParse(params ?? {});
      if (!p.success) throw new StudioError('invalid_request', `${name}: ${describeZodError(p.error)}`);
      const reply = await transport.send(name, p.data);
      if (!reply.ok) throw new StudioError(reply.error.code, reply.error.message, reply.error.details);
      const r = requests[name].result.safeParse(reply.result);
      if (!r.success) throw new StudioError('internal', `${name}: the studio sent a malformed result: ${describeZodError(r.error)}`);
      return r.data as Result<K>;
    },
    on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(cb as (payload: never) => void);
      return () => set.delete(cb as (payload: never) => void);
    },
  };
}

/** Electron: the preload's contextBridge object. */
export function bridgeTransport(bridge: StudioBridge): Transport {
  return {
    async send(method, params) {
      const reply = await bridge.request(method, params);
      const info = !reply.ok ? ErrorInfo.safeParse(reply.error) : null;
      if (info && !info.success) return { ok: false, error: { code: 'internal', message: `${method}: malformed error reply` } };
      return reply;
    },
    listen(sink) {
      bridge.on(sink);
    },
  };
}

export interface SocketOptions {
  /** ws://127.0.0.1:P/api/ws (the token is added as ?token=). */
  url: string;
  token: string;
  /** For tests outside a browser (Node 20 has no global WebSocket): a constructor like the DOM's. */
  WebSocketImpl?: typeof WebSocket;
  /** Reconnect delay after the socket closes, ms; doubles up to 5 s. */
  retryMs?: number;
  onConnectionChange?: (connected: boolean) => void;
}

/**
 * Browser mode: one WebSocket, request frames with ids, replies matched by id, events pushed by the
 * server. Requests made while disconnected wait for the reconnect; requests in flight when the socket
 * drops fail with 'disconnected' (the server may or may not have done them).
 */
export function socketTransport(opts: SocketOptions): Transport & { close(): void } {
  const WS = opts.WebSocketImpl ?? WebSocket;
  const pending = new Map<number, { resolve: (r: Reply) => void; frame: string }>();
  const queued: number[] = [];
  let sink: (event: string, payload: unknown) => void = () => {};
  let nextId = 1;
  let socket: WebSocket | null = null;
  let closed = false;
  let delay = opts.retryMs ?? 250;

  const connect = () => {
    const u = new URL(opts.url);
    u.searchParams.set('token', opts.token);
    const ws = new WS(u.toString());
    socket = ws;
    ws.onopen = () => {
      delay = opts.retryMs ?? 250;
      opts.onConnectionChange?.(true);
      for (const id of queued.splice(0)) {
        const p = pending.get(id);
        if (p) ws.send(p.frame);
      }
    };
    ws.onmessage = (m: MessageEvent) => {
      let frame;
      try {
        frame = ServerFrame.parse(JSON.parse(String(m.data)));
      } catch {
        console.warn('studio: dropped an unreadable frame from the server');
        return;
      }
      if (frame.type === 'event') sink(frame.event, frame.payload);
      else if (typeof frame.id === 'number') {
        const p = pending.get(frame.id);
        pending.delete(frame.id);
        p?.resolve(frame.ok ? { ok: true, result: frame.result } : { ok: false, error: frame.error });
      }
    };
    ws.onclose = () => {
      socket = null;
      opts.onConnectionChange?.(false);
      for (const [id, p] of pending) {
        if (queued.includes(id)) continue;
        pending.delete(id);
        p.resolve({ ok: false, error: { code: 'disconnected', message: 'the connection to the studio closed before it replied; try again' } });
      }
      if (!closed) {
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 5000);
      }
    };
  };
  connect();

  return {
    send(method, params) {
      const id = nextId++;
      const frame = JSON.stringify({ type: 'request', id, method, params });
      return new Promise<Reply>((resolve) => {
        if (closed) return resolve({ ok: false, error: { code: 'disconnected', message: 'the client was closed' } });
        pending.set(id, { resolve, frame });
        if (socket && socket.readyState === WS.OPEN) socket.send(frame);
        else queued.push(id);
      });
    },
    listen(s) {
      sink = s;
    },
    close() {
      closed = true;
      socket?.close();
      for (const [, p] of pending) p.resolve({ ok: false, error: { code: 'disconnected', message: 'the client was closed' } });
      pending.clear();
    },
  };
}
