// The compute device page's response headers, wherever it is served: by chromium.ts's 127.0.0.1 server and by
// Electron's app://device/ protocol. Cross-origin isolated, because threaded wasm needs SharedArrayBuffer; a strict
// CSP that allows compiling wasm ('wasm-unsafe-eval', not 'unsafe-eval') and the wasm backend's blob workers.

/** The headers, with `connect` added to connect-src beside 'self' (the page fetches its own wasm files). */
export function devicePageHeaders(connect: readonly string[] = []): Record<string, string> {
  return {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self' 'wasm-unsafe-eval' blob:",
      "worker-src 'self' blob:",
      `connect-src ${["'self'", ...connect].join(' ')}`,
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
  };
}

/** Headless Chromium's page: it also opens the WebSocket back to the engine on 127.0.0.1. */
export const PAGE_HEADERS = devicePageHeaders(['ws://127.0.0.1:*']);
