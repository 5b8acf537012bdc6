// The browser mode's host (src/service/host.ts): the engine is a forked Node process that launches headless
// Chromium itself when a run asks for a page device, there are no native dialogs, and the window's files go out
// over HTTP from 127.0.0.1 (server.ts decides who may have them) with a CSP that lets the page reach only this
// server's WebSocket.
import { forkEngine, type SpawnEngine } from '../service/engine-process.ts';
import { fileResponse, windowCsp, type StudioHost } from '../service/host.ts';

export interface BrowserHostOptions {
  /** The built renderer (dist-renderer/). */
  staticDir: string;
  /** The port the server listens on (known once it does: the CSP names it). */
  port: () => number;
  /** Default: a forked engine (src/engine/main.ts). */
  spawnEngine?: SpawnEngine;
}

export function browserHost(opts: BrowserHostOptions): StudioHost {
  const windowHeaders = () => {
    const port = opts.port();
    return {
      'Content-Security-Policy': windowCsp(`'self' ws://127.0.0.1:${port} ws://localhost:${port}`),
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      // The page URL carries the token: never send it anywhere as a referrer.
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
  };
  return {
    mode: 'browser',
    versions: {},
    dialogs: null,
    spawnEngine: opts.spawnEngine ?? (() => forkEngine()),
    windowHeaders,
    windowFile: (pathname, method) => fileResponse(opts.staticDir, pathname, method, windowHeaders()),
  };
}
