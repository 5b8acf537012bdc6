// Serves the built renderer (dist-renderer/). Only files inside the folder, only GET/HEAD.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

export const contentType = (file: string): string => TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';

/** The file under root that a URL path names, or null when it would leave root. */
export function resolveStatic(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const base = resolve(root);
  const file = resolve(base, '.' + normalize('/' + decoded));
  return file === base || file.startsWith(base + sep) ? file : null;
}

/** Vite names assets by content hash, so they may be kept; the index must be re-read so a rebuild is picked up. */
export const cacheControl = (file: string): string => (file.includes(`${sep}assets${sep}`) ? 'private, max-age=31536000, immutable' : 'no-store');

/** Sends the file; false when it does not exist (the caller answers 404). */
export async function sendFile(res: ServerResponse, file: string, head: boolean, headers: Record<string, string> = {}): Promise<boolean> {
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) return false;
  res.writeHead(200, {
    'Content-Type': contentType(file),
    'Content-Length': String(st.size),
    'Cache-Control': cacheControl(file),
    ...headers,
  });
  if (head) res.end();
  // A file that fails to read after its stat (removed meanwhile, an I/O error) ends this response, cut short
  // because its length was promised; unhandled, the stream's error would throw out of the server's process.
  else createReadStream(file).on('error', () => res.destroy()).pipe(res);
  return true;
}

export const indexFile = (root: string): string => join(root, 'index.html');
