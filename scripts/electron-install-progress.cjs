// Preloaded (`node --require`) into Electron's own installer (node_modules/electron/install.js) by `npm start`:
// it wraps fetch to show the download's progress and to name the cause when the mirror cannot be reached
// (fetch says only "fetch failed"). It changes nothing else: the installer still picks the mirror, the cache,
// the proxy and the checksums itself.
//   MOBILEVIT_PROGRESS_FD  where progress lines go (default 2); the cause goes to stderr as
//                          "electron-install-reason: …" for the parent to read.
'use strict';
const fs = require('node:fs');
const tty = require('node:tty');

const fd = Number(process.env.MOBILEVIT_PROGRESS_FD || 2);
const live = tty.isatty(fd);
const write = (s) => {
  try {
    fs.writeSync(fd, s);
  } catch {
    // progress is best effort
  }
};
const size = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`);
const original = globalThis.fetch;

globalThis.fetch = async function fetchWithProgress(input, init) {
  const url = String(input instanceof Request ? input.url : input);
  let res;
  try {
    res = await original(input, init);
  } catch (e) {
    const cause = e && e.cause ? e.cause.message || String(e.cause) : e && e.message;
    process.stderr.write(`electron-install-reason: cannot reach ${url}: ${cause}\n`);
    throw e;
  }
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
  if (!res.ok || !res.body || !name.endsWith('.zip')) return res;
  const total = Number(res.headers.get('content-length')) || 0;
  write(`npm start: downloading ${name}${total ? ` (${size(total)})` : ''} from ${new URL(url).origin}\n`);
  let got = 0;
  let shown = -1;
  let drawn = 0;
  const report = (done) => {
    if (total) {
      const pct = done ? 100 : Math.floor((got / total) * 100);
      const line = `npm start: downloading ${name}: ${pct} % (${size(got)} of ${size(total)})`;
      if (live) {
        if (done || Date.now() - drawn > 100) {
          drawn = Date.now();
          write(`\r${line}${done ? '\n' : ''}`);
        }
      } else {
        const step = done ? 100 : Math.floor(pct / 10) * 10;
        if (step > shown) {
          shown = step;
          write(`${line}\n`);
        }
      }
    } else {
      const step = Math.floor(got / 10e6);
      if (done || step > shown) {
        shown = step;
        write(`npm start: downloading ${name}: ${size(got)}${done ? ' (done)' : ''}\n`);
      }
    }
  };
  const counter = new TransformStream({
    transform(chunk, controller) {
      got += chunk.byteLength;
      report(false);
      controller.enqueue(chunk);
    },
    flush() {
      report(true);
    },
  });
  return new Response(res.body.pipeThrough(counter), { status: res.status, statusText: res.statusText, headers: res.headers });
};
