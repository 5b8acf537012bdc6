// How the service starts the engine: a small adapter over "a process we can message and that can die".
// The browser mode's host (and a service built without a host, as in tests) forks a Node child process
// (child_process.fork, TypeScript through tsx); Electron's host supplies a utilityProcess-backed one
// (electron/engine-process.ts) with the same shape.
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
class TailBuffer {
  private text = '';
  constructor(private readonly max = 4000) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  lastLines(n = 3): string {
    return this.text.trim().split('\n').slice(-n).join('\n');
  }
}

/**
 * What both engine adapters (this file's and electron/engine-process.ts) keep of a child: its stderr, echoed and
 * its tail kept for the crash reason, and its end, told once to every onExit listener however it is reported.
 */
export class EngineLife {
  readonly tail = new TailBuffer();
  exited = false;
  private readonly listeners: ((e: EngineExit) => void)[] = [];

  constructor(stderr: NodeJS.ReadableStream | null | undefined) {
    stderr?.setEncoding('utf8');
    stderr?.on('data', (chunk: string) => {
      this.tail.push(chunk);
      process.stderr.write(chunk);
    });
  }

  onExit(cb: (e: EngineExit) => void): void {
    this.listeners.push(cb);
  }

  ended(code: number | null, signal: string | null): void {
    if (this.exited) return;
    this.exited = true;
    for (const cb of this.listeners) cb({ code, signal, stderrTail: this.tail.lastLines() });
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
  const life = new EngineLife(child.stderr);
  child.on('exit', (code, signal) => life.ended(code, signal));
  // A failed spawn emits 'error' and possibly never 'exit'.
  child.on('error', (e) => {
    life.tail.push(`\n${e.message}`);
    life.ended(null, null);
  });
  return {
    get pid() {
      return child.pid;
    },
    send(msg) {
      // With a callback, a send racing the child's death reports here instead of as an 'error' event.
      if (!life.exited && child.connected) child.send(msg as object, (err) => err && life.tail.push(`\n${err.message}`));
    },
    onMessage(cb) {
      child.on('message', cb);
    },
    onExit(cb) {
      life.onExit(cb);
    },
    kill() {
      if (!life.exited) child.kill('SIGKILL');
    },
  };
}
