import { describe, expect, it, vi } from 'vitest';
import type { StudioBridge } from '../../src/protocol/contract.ts';
import { EVENT_CHANNEL } from '../../src/protocol/names.ts';

const exposed: Record<string, unknown> = {};
const listeners = new Map<string, Set<(...a: unknown[]) => void>>();
const invoke = vi.fn(async (channel: string, params: unknown) => ({ ok: true, result: { channel, params } }));

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
  ipcRenderer: {
    invoke,
    on: (ch: string, cb: (...a: unknown[]) => void) => (listeners.get(ch) ?? listeners.set(ch, new Set()).get(ch)!).add(cb),
    removeListener: (ch: string, cb: (...a: unknown[]) => void) => listeners.get(ch)?.delete(cb),
  },
}));

await import('../../electron/preload.ts');
const studio = exposed.studio as StudioBridge;

describe('preload', () => {
  it('exposes exactly window.studio = { request, on }', () => {
    expect(Object.keys(exposed)).toEqual(['studio']);
    expect(Object.keys(studio).sort()).toEqual(['on', 'request']);
  });

  it("sends known requests on their own channel and refuses others without touching IPC", async () => {
    expect(await studio.request('runs.get', { runId: 'x' })).toEqual({ ok: true, result: { channel: 'studio:runs.get', params: { runId: 'x' } } });
    invoke.mockClear();
    for (const bad of ['constructor', '__proto__', 'studio:event', 'fs.readFile', 42 as unknown as string]) {
      const r = await studio.request(bad, {});
      expect(r).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    }
    expect(invoke).not.toHaveBeenCalled();
  });

  it('delivers events to subscribers until they unsubscribe, ignoring malformed ones', () => {
    const got: unknown[] = [];
    const off = studio.on((event, payload) => got.push([event, payload]));
    const emit = (msg: unknown) => listeners.get(EVENT_CHANNEL)!.forEach((cb) => cb({}, msg));
    emit({ event: 'progress', payload: { done: 1 } });
    emit(null);
    emit({ payload: 1 });
    off();
    emit({ event: 'progress', payload: { done: 2 } });
    expect(got).toEqual([['progress', { done: 1 }]]);
  });
});
