// How the service starts the engine: a small adapter over "a process we can message and that can die".
// The browser mode's host forks a Node child process (child_process.fork, TypeScript through tsx); Electron's
// host supplies a utilityProcess-backed one (electron/engine-process.ts) with the same shape.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface EngineExit {
  code: number | null;
  signal: string | null;
  /** The last lines the engine wrote on stderr (an out-of-memory abort says so there). */
  stderrTail: string;
}

export interface EngineProcess {
  readonly pid: number | undefined;
  send(msg: unknown): void;
  onMessage(cb: (msg: unknown) => void): void;
  onExit(cb: (exit: EngineExit) => void): void;
  kill(): void;
}

export type SpawnEngine = () => EngineProcess;

/**
 * The engine is background work: a lower scheduling priority lets the service (and the window) win
 * the CPU when training saturates it, which keeps requests answering quickly on small machines.
 */
export const ENGINE_NICENESS = 10;

export function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, ENGINE_NICENESS);
  } catch {
    // Not permitted on some systems; the engine then runs at normal priority.
  }
}

/** The engine process's entry, src/engine/main: main.ts from source, main.js once compiled (as this file is). */
export function engineEntry(): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`../engine/main.${extension}`, import.meta.url));
}

/** Keeps the last `max` characters written to a stream, for crash reasons. */
export class TailBuffer {
  private text = '';
  constructor(private readonly max = 4000) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  lastLines(n = 3): string {
    return this.text.trim().split('\n').slice(-n).join('\n');
  }
}

export function forkEngine(entry = engineEntry(), env: NodeJS.ProcessEnv = process.env): EngineProcess {
  const execArgv = entry.endsWith('.ts')
    ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href]
    : [];
  const child = fork(entry, [], {
    execArgv,
    env,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    // Structured clone: typed arrays and Buffers cross without JSON.
    serialization: 'advanced',
  });
  lowerPriority(child.pid);
  const tail = new TailBuffer();
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail.push(chunk);
    process.stderr.write(chunk);
  });
  let exited = false;
  const exitCbs: ((e: EngineExit) => void)[] = [];
  const onGone = (code: number | null, signal: string | null) => {
    if (exited) return;
    exited = true;
    for (const cb of exitCbs) cb({ code, signal, stderrTail: tail.lastLines() });
  };
  child.on('exit', onGone);
  // A failed spawn emits 'error' and possibly never 'exit'.
  child.on('error', (e) => {
    tail.push(`\n${e.message}`);
    onGone(null, null);
  });
  return {
    get pid() {
      return child.pid;
    },
    send(msg) {
      // With a callback, a send racing the child's death reports here instead of as an 'error' event.
      if (!exited && child.connected) child.send(msg as object, (err) => err && tail.push(`\n${err.message}`));
    },
    onMessage(cb) {
      child.on('message', cb);
    },
    onExit(cb) {
      exitCbs.push(cb);
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
