import { describe, expect, it, vi } from 'vitest';
import { createCloseGuard } from '../../electron/close-guard.ts';

function fakeService(active: string | null) {
  const listeners = new Set<(event: string, payload: any) => void>();
  return {
    activeRun: vi.fn(() => active),
    handle: vi.fn(async () => ({ ok: true as const, result: {} })),
    on: vi.fn((cb: any) => (listeners.add(cb), () => listeners.delete(cb))),
    emit: (event: string, payload: unknown) => listeners.forEach((cb) => cb(event, payload)),
    listeners,
  };
}
const closeEvent = () => ({ preventDefault: vi.fn() });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('closing the window during a run', () => {
  it('asks first, and keeps the window when the user says keep training', async () => {
    const service = fakeService('run-1');
    const close = vi.fn();
    const guard = createCloseGuard({ service: service as never, ask: async () => false, close });
    const e = closeEvent();
    guard(e);
    await tick();
    expect(e.preventDefault).toHaveBeenCalled();
    expect(service.handle).not.toHaveBeenCalled();
    expect(close).not.toHaveBeenCalled();
  });

  it('pauses the run and closes once the engine says it stopped', async () => {
    const service = fakeService('run-1');
    const close = vi.fn();
    const ask = vi.fn(async () => true);
    const guard = createCloseGuard({ service: service as never, ask, close });
    guard(closeEvent());
    guard(closeEvent()); // a second click while the question is open asks once
    await tick();
    expect(ask).toHaveBeenCalledTimes(1);
    expect(service.handle).toHaveBeenCalledWith('train.pause', { runId: 'run-1' });
    service.emit('run.status', { runId: 'other', status: 'paused' });
    service.emit('run.status', { runId: 'run-1', status: 'running' });
    await tick();
    expect(close).not.toHaveBeenCalled();
    service.emit('run.status', { runId: 'run-1', status: 'paused', error: null });
    await tick();
    expect(close).toHaveBeenCalledTimes(1);
    expect(service.listeners.size).toBe(0);
    const after = closeEvent();
    guard(after); // the real close goes through
    expect(after.preventDefault).not.toHaveBeenCalled();
  });

  it('closes after the time limit when the engine does not answer', async () => {
    const service = fakeService('run-1');
    const close = vi.fn();
    createCloseGuard({ service: service as never, ask: async () => true, close, pauseTimeoutMs: 30 })(closeEvent());
    await new Promise((r) => setTimeout(r, 80));
    expect(close).toHaveBeenCalledTimes(1);
  });
});
