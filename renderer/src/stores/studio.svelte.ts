// The one connection to the studio for the whole window, and what every view needs to know about it:
// whether it is connected, the app info (mode, backend, workspace), and the progress of long work.
import {
  StudioError,
  type AppInfo,
  type EventName,
  type EventPayload,
  type Params,
  type RequestName,
  type Result,
  type StudioBridge,
  type StudioClient,
} from '../../../src/protocol/contract.ts';
import { bridgeTransport, createClient, socketTransport } from '../../../src/protocol/client.ts';

export type Connection = 'connecting' | 'connected' | 'disconnected' | 'no-token';

export interface ProgressItem {
  task: string;
  id: string;
  done: number;
  total: number;
  label?: string;
}

class Studio {
  connection = $state<Connection>('connecting');
  info = $state.raw<AppInfo | null>(null);
  /** Long work in flight, by task name ('dataset.scan', 'eval.run', …). */
  progress = $state.raw<Record<string, ProgressItem>>({});
  private client: StudioClient | null = null;

  /** Connects through Electron's preload when present, else the browser mode's WebSocket. */
  connect(win: Window & { studio?: StudioBridge } = window): void {
    if (win.studio) {
      this.client = createClient(bridgeTransport(win.studio));
      this.connection = 'connected';
    } else {
      const token = new URL(win.location.href).searchParams.get('token');
      if (!token) {
        this.connection = 'no-token';
        return;
      }
      const proto = win.location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.client = createClient(
        socketTransport({
          url: `${proto}//${win.location.host}/api/ws`,
          token,
          onConnectionChange: (up) => {
            this.connection = up ? 'connected' : 'disconnected';
            // Re-read the app info after a reconnect: the server (and its engine) may have restarted.
            if (up) void this.refreshInfo();
          },
        }),
      );
    }
    this.on('progress', (p) => {
      const next = { ...this.progress };
      if (p.total > 0 && p.done >= p.total) delete next[p.task];
      else next[p.task] = p;
      this.progress = next;
    });
    this.on('engine.status', () => void this.refreshInfo());
    void this.refreshInfo();
  }

  request<K extends RequestName>(name: K, params: Params<K>): Promise<Result<K>> {
    if (!this.client) {
      return Promise.reject(
        new StudioError('disconnected', 'this page was opened without its ?token=…: open the URL that `mobilevit-studio serve` printed'),
      );
    }
    return this.client.request(name, params);
  }

  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void {
    return this.client ? this.client.on(event, cb) : () => {};
  }

  clearProgress(task: string): void {
    if (!(task in this.progress)) return;
    const next = { ...this.progress };
    delete next[task];
    this.progress = next;
  }

  async refreshInfo(): Promise<void> {
    try {
      this.info = await this.request('app.info', {});
    } catch {
      // The connection banner already says the studio is unreachable.
    }
  }
}

export const studio = new Studio();
