// How this process starts a worker thread on a src/device worker entry (the parallel device's kernel-worker).
// In the source tree the entry is TypeScript: the worker registers tsx itself first
// (loader flags given to a worker thread do not reach its module loader); built, it is JavaScript.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Source text for `new Worker(…, { eval: true })` that imports `entry` (a file name beside this one, without extension). */
export function workerSource(entry: string): string {
  const here = fileURLToPath(import.meta.url);
  const url = pathToFileURL(here.replace(/worker-source\.(ts|js)$/, `${entry}.$1`)).href;
  // tsx's ESM API (require() resolves its CommonJS twin, which cannot register ESM hooks).
  const tsx = url.endsWith('.ts') ? pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href : null;
  return `(async () => {${tsx ? ` (await import(${JSON.stringify(tsx)})).register();` : ''} await import(${JSON.stringify(url)}); })()`
    + `.catch((e) => { require('node:worker_threads').parentPort.postMessage({ failed: String(e && e.message || e) }); });`;
}
