// Children a test starts in their own process group (spawn's `detached: true`), stopped after each case with
// everything they started in turn (the browser mode `npm start` hands over to, an engine `serve` forked).
import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';

/** Registers the clean-up in the calling test file; returns `track(child)`, which hands the child back. */
export function killGroupsAfterEach(): (child: ChildProcess) => ChildProcess {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      const exited = c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));
      try {
        process.kill(-c.pid!, 'SIGKILL'); // the whole group: the child and anything it started
      } catch {
        // already gone
      }
      await exited;
    }
  });
  return (child) => {
    children.push(child);
    return child;
  };
}
