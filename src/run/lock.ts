// One trainer per run: a lock the operating system releases the moment its holder dies (kill -9, a
// crash, a power cut), so a dead trainer never blocks `resume` and a reused pid or an unreaped zombie
// cannot pass for a live one.
//
// The lock is a listening socket whose address is derived from the run folder's real path:
//   Linux    an abstract-namespace Unix socket ("\0mobilevit-studio-run-<hash>"): no file; the kernel
//            frees the name when the last descriptor closes, and binding a taken name fails atomically.
//   Windows  a named pipe (\\?\pipe\mobilevit-studio-run-<hash>): the same two properties.
//   macOS    a Unix socket file in the temp folder. A dead holder leaves the file behind; a connect that
//            is refused proves it dead and the file is removed before binding again.
// Whoever holds the lock answers a connection with one JSON line saying who it is, so a refusal can
// name the process. Sockets are opened close-on-exec: a child of the holder does not inherit the lock.
import { createHash } from 'node:crypto';
import { realpathSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface LockHolder {
  /** null when the holder did not say in time (busy in a long synchronous step). */
  pid: number | null;
  /** ISO time the lock was taken. */
  since: string | null;
  /** What it is doing: 'training', 'deleting', … */
  purpose: string | null;
}

export class RunLockedError extends Error {
  constructor(readonly dir: string, readonly holder: LockHolder) {
    const who = holder.pid !== null ? `process ${holder.pid}` : 'another process';
    const what = holder.purpose === 'training' || holder.purpose === null ? 'is being trained' : `is busy (${holder.purpose})`;
    super(`the run in ${dir} ${what} by ${who}${holder.since ? ` since ${holder.since}` : ''}`);
    this.name = 'RunLockedError';
  }
}

export interface RunLock {
  readonly dir: string;
  release(): Promise<void>;
}

/** How long a probe waits for a holder to say who it is; a connection alone already proves it alive. */
const HOLDER_REPLY_MS = 1500;

export function lockAddress(dir: string, platform: NodeJS.Platform = process.platform): string {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    real = resolve(dir);
  }
  const id = createHash('sha256').update(real).digest('hex').slice(0, 32);
  if (platform === 'linux') return `\0mobilevit-studio-run-${id}`;
  if (platform === 'win32') return `\\\\?\\pipe\\mobilevit-studio-run-${id}`;
  return join(tmpdir(), `mobilevit-studio-run-${id}.sock`);
}

const usesSocketFile = (address: string) => !address.startsWith('\0') && !address.startsWith('\\\\?\\pipe\\');

/** Who holds the run's lock, or null when nobody does. */
export function probeRunLock(dir: string): Promise<LockHolder | null> {
  return probe(dir, false);
}

/** `taking`: the prober tried to take the lock, and tells the holder so (see WAIT_FOR_TAKER). */
function probe(dir: string, taking: boolean): Promise<LockHolder | null> {
  const address = lockAddress(dir);
  return new Promise((resolvePromise) => {
    const socket = connect(address);
    let text = '';
    let connected = false;
    const done = (holder: LockHolder | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(holder);
    };
    const unknown = (): LockHolder => ({ pid: null, since: null, purpose: null });
    const timer = setTimeout(() => done(connected ? unknown() : null), HOLDER_REPLY_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      if (taking) socket.write('taking\n');
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 4096) done(unknown());
    });
    socket.on('end', () => done(parseHolder(text) ?? unknown()));
    // Refused or absent: nobody listens, so nobody holds the lock.
    socket.on('error', () => done(connected ? unknown() : null));
  });
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text.trim()) as Partial<LockHolder>;
    return {
      pid: Number.isInteger(v.pid) ? (v.pid as number) : null,
      since: typeof v.since === 'string' ? v.since : null,
      purpose: typeof v.purpose === 'string' ? v.purpose : null,
    };
  } catch {
    return null;
  }
}

function listen(server: Server, address: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
}

/**
 * A test hook: with MOBILEVIT_TEST_LOCK_WAIT_FOR_TAKER=1 in the environment, whoever takes a lock waits, before it
 * goes on, until another process has tried to take it too. A test that races two takers then decides by what
 * happened, not by which of them the machine ran first (on a loaded machine one `resume` ended before the other
 * began). The holder is idle meanwhile, so the refused taker always hears its pid.
 */
export const WAIT_FOR_TAKER = 'MOBILEVIT_TEST_LOCK_WAIT_FOR_TAKER';

/**
 * Takes the run's lock, or throws RunLockedError naming the live holder. The lock does not keep the
 * process alive; release() (or the process's death) frees it.
 */
export async function acquireRunLock(dir: string, purpose: string, env: Record<string, string | undefined> = process.env): Promise<RunLock> {
  const address = lockAddress(dir);
  const me = JSON.stringify({ pid: process.pid, since: new Date().toISOString(), purpose }) + '\n';
  let takerTried!: () => void;
  const tried = new Promise<void>((resolvePromise) => (takerTried = resolvePromise));
  for (let attempt = 0; ; attempt++) {
    const server = createServer((socket) => {
      socket.on('error', () => { /* the prober went away */ });
      socket.once('data', () => takerTried()); // only a refused taker writes (probe)
      socket.end(me);
    });
    try {
      await listen(server, address);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new Error(`cannot lock the run in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const holder = await probe(dir, true);
      if (holder) throw new RunLockedError(dir, holder);
      // Only a socket file can outlive its holder; remove it once and try again.
      if (!usesSocketFile(address) || attempt > 0) throw new RunLockedError(dir, { pid: null, since: null, purpose: null });
      try { unlinkSync(address); } catch { /* removed by a competitor */ }
      continue;
    }
    server.unref();
    if (env[WAIT_FOR_TAKER]) {
      server.ref(); // this wait alone must keep the process alive
      await tried;
      server.unref();
    }
    let released = false;
    return {
      dir,
      release: () => new Promise<void>((resolvePromise) => {
        if (released) return resolvePromise();
        released = true;
        server.close(() => resolvePromise());
      }),
    };
  }
}

/** Runs `fn` holding the run's lock. */
export async function withRunLock<T>(dir: string, purpose: string, fn: () => Promise<T> | T): Promise<T> {
  const lock = await acquireRunLock(dir, purpose);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
