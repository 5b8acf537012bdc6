// Does the window stay responsive while a run trains? Request round trips through the browser mode's
// WebSocket (the same service the Electron IPC reaches) with the engine idle and then while it trains
// MobileViT-XXS on a small generated dataset. The bar: p99 under 50 ms while training.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createClient, socketTransport } from '../src/protocol/client.ts';
import type { BackendChoice, StudioClient } from '../src/protocol/contract.ts';
import { startServer } from '../src/server/server.ts';
import { table } from '../src/cli/common.ts';
import { makeDataset } from '../test/helpers/dataset.ts';
import { machine, median, percentile, writeResult } from './machine.ts';

export interface IpcBenchRow {
  phase: 'idle' | 'training';
  requests: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Training steps the engine finished while the requests were timed (0 when idle). */
  steps: number;
}

/** The requests a window makes most while it trains: status, the run list, the live run's record. */
function request(client: StudioClient, i: number, runId: string | null): Promise<unknown> {
  if (runId && i % 4 === 3) return client.request('runs.get', { runId });
  const names = ['app.info', 'runs.list', 'settings.get'] as const;
  return client.request(names[i % names.length], {});
}

/** At least n requests, and while training, until at least minSteps steps ran meanwhile (at most 3 min). */
async function timeRequests(client: StudioClient, n: number, runId: string | null, stepsSince = () => 0, minSteps = 0): Promise<number[]> {
  const times: number[] = [];
  const deadline = Date.now() + 180_000;
  for (let i = 0; i < n || (stepsSince() < minSteps && Date.now() < deadline); i++) {
    const t0 = performance.now();
    await request(client, i, runId);
    times.push(performance.now() - t0);
    // Spread over the run, like a UI polling, rather than one burst between two steps.
    await new Promise((r) => setTimeout(r, 5));
  }
  return times;
}

export async function benchIpc(opts: { requests?: number; imageSize?: number; backend?: BackendChoice } = {}) {
  const requests = opts.requests ?? 300;
  const imageSize = opts.imageSize ?? 64;
  const dir = mkdtempSync(join(tmpdir(), 'bench-ipc-'));
  const server = await startServer({ port: 0, open: false, workspace: join(dir, 'workspace') });
  const transport = socketTransport({ url: `ws://127.0.0.1:${server.port}/api/ws`, token: server.token, WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
  const client = createClient(transport);
  try {
    if (opts.backend) await client.request('settings.set', { backend: opts.backend });
    const data = (await makeDataset(join(dir, 'data'), { classes: 4, perClass: 48, size: imageSize })).root;
    const rows: IpcBenchRow[] = [];
    const idle = await timeRequests(client, requests, null);
    rows.push(row('idle', idle, 0));

    let steps = 0;
    let firstStep!: () => void;
    const started = new Promise<void>((r) => (firstStep = r));
    client.on('train.event', (e) => {
      if (e.event.type === 'step') (steps++, firstStep());
    });
    const { runId } = await client.request('train.start', { settings: { data, imageSize, epochs: 50, batchSize: 16 }, name: 'ipc benchmark' });
    await started;
    const before = steps;
    const busy = await timeRequests(client, requests, runId, () => steps - before, 5);
    rows.push(row('training', busy, steps - before));
    await client.request('train.stop', { runId });

    const backend = (await client.request('app.info', {})).backend?.active ?? 'unknown';
    console.log(`\nRequest round trips over the browser mode's WebSocket, ${backend} engine, XXS at ${imageSize} px batch 16 while training`);
    console.log(table(['phase', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'train steps meanwhile'], rows.map((r) => [r.phase, r.requests, r.p50_ms, r.p99_ms, r.max_ms, r.steps])));
    const result = { machine: machine(), backend, transport: 'websocket', imageSize, rows };
    writeResult('bench/results/ipc.json', result);
    return result;
  } finally {
    transport.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function row(phase: IpcBenchRow['phase'], times: number[], steps: number): IpcBenchRow {
  const r = (v: number) => +v.toFixed(2);
  return { phase, requests: times.length, p50_ms: r(median(times)), p99_ms: r(percentile(times, 99)), max_ms: r(Math.max(...times)), steps };
}
