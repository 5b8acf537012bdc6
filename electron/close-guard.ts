// Closing the window while a run trains asks first; "Pause and close" pauses the run (it saves a
// checkpoint, so it can be resumed) and closes once the engine confirms, or after a time limit.
import type { StudioService } from '../src/service/service.ts';

type Service = Pick<StudioService, 'activeRun' | 'handle' | 'on'>;

export interface CloseGuardDeps {
  service: Service;
  /** Shows the question; resolves to true for "pause and close". */
  ask(runId: string): Promise<boolean>;
  /** Closes the window for real. */
  close(): void;
  pauseTimeoutMs?: number;
}

/** Resolves once the run is no longer running (paused, stopped, failed), or after timeoutMs. */
export function pauseAndWait(service: Service, runId: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const off = service.on((event, payload) => {
      if (event === 'run.status' && (payload as { runId: string; status: string }).runId === runId && (payload as { status: string }).status !== 'running') done();
    });
    function done() {
      clearTimeout(timer);
      off();
      resolve();
    }
    void service.handle('train.pause', { runId }).then((r) => {
      if (!r.ok) done(); // not training any more: nothing to wait for
    });
  });
}

/** The window's 'close' listener: returns whether the close may proceed now. */
export function createCloseGuard(deps: CloseGuardDeps): (event: { preventDefault(): void }) => void {
  let allowed = false;
  let asking = false;
  return (event) => {
    const runId = deps.service.activeRun();
    if (allowed || !runId) return;
    event.preventDefault();
    if (asking) return;
    asking = true;
    void deps.ask(runId).then(async (pause) => {
      asking = false;
      if (!pause) return;
      await pauseAndWait(deps.service, runId, deps.pauseTimeoutMs ?? 60_000);
      allowed = true;
      deps.close();
    });
  };
}
