// `npm start` where Electron's binary is missing: it installs it through the electron package's own installer
// from a mirror (here a local HTTP server with a stub zip and its SHASUMS256.txt), shows progress, launches it with
// the app's folder, and falls back to the browser mode, saying why, when the mirror is down or the zip's checksum
// does not match. Runs against a copy of node_modules/electron, never the real one.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../engine/fixtures/studio.ts';
import { killGroupsAfterEach } from '../helpers/process-groups.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const START = join(ROOT, 'scripts', 'start.mjs');
const REAL_ELECTRON = join(ROOT, 'node_modules', 'electron');
const VERSION = JSON.parse(readFileSync(join(REAL_ELECTRON, 'package.json'), 'utf8')).version as string;
const PLATFORM = process.platform === 'win32' ? 'win32' : process.platform;
const ZIP_NAME = `electron-v${VERSION}-${PLATFORM}-${process.arch}.zip`;

/** A zip with stored (uncompressed) entries and Unix modes, enough for Electron's extractor. */
function storedZip(entries: { name: string; data: string; mode: number }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const data = Buffer.from(e.data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x21, 12); // DOS date 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the external attributes carry the mode
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x21, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(((0o100000 | e.mode) << 16) >>> 0, 38);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, data);
    central.push(dir, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

// The stub Electron records its arguments and working folder in $STUB_MARKER and exits.
const STUB = '#!/bin/sh\nprintf "%s\\n" "$PWD" "$@" > "$STUB_MARKER"\n';
const ZIP = storedZip([
  { name: 'electron', data: STUB, mode: 0o755 },
  { name: 'version', data: `v${VERSION}`, mode: 0o644 },
]);
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let mirror: Server;
let mirrorUrl = '';
let sums = '';
const requests: string[] = [];
const tmp = tempDir('start-test-');

beforeAll(async () => {
  mirror = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/v${VERSION}/${ZIP_NAME}`) {
      res.writeHead(200, { 'Content-Length': ZIP.length });
      res.end(ZIP);
    } else if (req.url === `/v${VERSION}/SHASUMS256.txt`) res.end(sums);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
  mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise((r) => mirror.close(r));
  tmp.remove();
});

const track = killGroupsAfterEach();

let n = 0;
/** A fresh copy of the electron package (its own files only; its dependencies resolve through NODE_PATH). */
function electronCopy(): { pkg: string; cache: string; marker: string } {
  const dir = join(tmp.dir, `case-${n++}`);
  const pkg = join(dir, 'node_modules', 'electron');
  mkdirSync(pkg, { recursive: true });
  for (const f of readdirSync(REAL_ELECTRON)) {
    if (statSync(join(REAL_ELECTRON, f)).isFile()) copyFileSync(join(REAL_ELECTRON, f), join(pkg, f));
  }
  expect(existsSync(join(pkg, 'dist'))).toBe(false);
  return { pkg, cache: join(dir, 'cache'), marker: join(dir, 'launched.txt') };
}

function startEnv(c: { pkg: string; cache: string; marker: string }, mirrorBase: string): NodeJS.ProcessEnv {
  // An .npmrc or package.json mirror setting (seen through npm's variables under `npm test`) would win over ELECTRON_MIRROR.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_config_electron_|npm_package_config_electron_)/i.test(k)));
  return {
    ...inherited,
    NODE_PATH: join(ROOT, 'node_modules'),
    MOBILEVIT_ELECTRON_DIR: c.pkg,
    ELECTRON_MIRROR: mirrorBase,
    electron_use_remote_checksums: '1',
    electron_config_cache: c.cache,
    STUB_MARKER: c.marker,
    ELECTRON_OVERRIDE_DIST_PATH: '',
    MOBILEVIT_DEBUG: '',
  };
}

/** Spawns `npm start` (node scripts/start.mjs) and collects its output; `until` resolves early on a match. */
function start(args: string[], env: NodeJS.ProcessEnv, until?: RegExp): Promise<{ code: number | null; out: string; err: string; match?: RegExpExecArray }> {
  // Its own process group, so the browser mode it hands over to is stopped with it.
  const child = spawn(process.execPath, [START, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  track(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const m = until?.exec(out);
      if (m) resolve({ code: null, out, err, match: m });
    };
    child.stdout!.on('data', (c: Buffer) => ((out += c), check()));
    child.stderr!.on('data', (c: Buffer) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('npm start without Electron’s binary', () => {
  it('installs it from the mirror with progress, then launches it with the app folder', async () => {
    sums = `${sha(ZIP)} *${ZIP_NAME}\n`;
    requests.length = 0;
    const c = electronCopy();
    const r = await start(['--no-build'], startEnv(c, mirrorUrl));
    expect(r.err).toContain(`npm start: Electron's binary is not installed: installing Electron ${VERSION} from ${mirrorUrl}`);
    expect(r.err).toContain(`npm start: downloading ${ZIP_NAME} (${(ZIP.length / 1e3).toFixed(1)} kB) from ${mirrorUrl.slice(0, -1)}`);
    expect(r.err).toMatch(new RegExp(`npm start: downloading ${ZIP_NAME.replace(/\./g, '\\.')}: 100 % \\(`));
    expect(r.err).toMatch(new RegExp(`npm start: installed Electron ${VERSION.replace(/\./g, '\\.')} in \\d+\\.\\d s`));
    expect(r.err).not.toContain('browser mode');
    expect(r.code).toBe(0);
    expect(requests).toEqual([`/v${VERSION}/${ZIP_NAME}`, `/v${VERSION}/SHASUMS256.txt`]);
    // Installed where the electron package looks for it, and cached where electron_config_cache says.
    expect(readFileSync(join(c.pkg, 'path.txt'), 'utf8')).toBe('electron');
    expect(readFileSync(join(c.pkg, 'dist', 'electron'), 'utf8')).toBe(STUB);
    expect(readdirSync(c.cache)).toHaveLength(1);
    // The stub ran with the project folder as Electron's app path.
    expect(readFileSync(c.marker, 'utf8').split('\n').slice(0, 2)).toEqual([ROOT, ROOT]);

    // A second start finds the binary and launches it without downloading again.
    requests.length = 0;
    const again = await start(['--no-build'], startEnv(c, mirrorUrl));
    expect(again.code).toBe(0);
    expect(again.err).not.toContain('installing');
    expect(requests).toEqual([]);
  });

  it('falls back to the browser mode, saying why, when the checksum does not match', async () => {
    sums = `${sha('not the zip')} *${ZIP_NAME}\n`;
    const c = electronCopy();
    const r = await start(['--no-build', '--no-open', '--port', '0'], startEnv(c, mirrorUrl), /MobileViT Studio is at (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/);
    const fallback = r.err.split('\n').filter((l) => l.includes('no desktop window'));
    expect(fallback).toHaveLength(1);
    expect(fallback[0]).toMatch(/^npm start: no desktop window: could not install Electron's binary \(.*checksum.*\); starting the browser mode instead/i);
    expect(existsSync(c.marker)).toBe(false);
    expect(existsSync(join(c.pkg, 'path.txt'))).toBe(false);
    // The browser mode really serves: the printed URL's token opens the API.
    expect(r.match).toBeDefined();
    const url = new URL(r.match![1]);
    const res = await fetch(new URL('/api/app.info', url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${url.searchParams.get('token')}` },
      body: '{}',
    });
    expect(await res.json()).toMatchObject({ ok: true, result: { mode: 'browser' } });
  });

  it('falls back to the browser mode, saying why, when the mirror cannot be reached', async () => {
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const port = (down.address() as AddressInfo).port;
    await new Promise((r) => down.close(r)); // a port nobody listens on
    const c = electronCopy();
    const r = await start(['--no-build', '--no-open', '--port', '0'], startEnv(c, `http://127.0.0.1:${port}/`), /MobileViT Studio is at http/);
    expect(r.err).toContain(
      `npm start: no desktop window: could not install Electron's binary (cannot reach http://127.0.0.1:${port}/v${VERSION}/${ZIP_NAME}: connect ECONNREFUSED 127.0.0.1:${port}); starting the browser mode instead`,
    );
    expect(r.match).toBeDefined();
    expect(existsSync(c.marker)).toBe(false);
  });
});
