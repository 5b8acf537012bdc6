// Without the Hub (issue 24 item 3): a pull says in words what happened (no DNS, refused, a proxy that
// refuses, 401/404) and what the person can do instead; `importZoo` puts a local file in the cache, checked
// as a download is.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeSafetensors, readSafetensors } from '../../src/model/safetensors.ts';
import { DownloadError } from '../../src/zoo/download.ts';
import { importZoo, isCached, pullZoo, zooPaths } from '../../src/zoo/store.ts';
import { findZooEntry } from '../../src/zoo/zoo.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture, huggingFaceFixture } from '../helpers/fixtures.ts';
import { closedPort } from '../helpers/ports.ts';

const WEIGHTS_FILE = fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors');
const WEIGHTS = readFileSync(WEIGHTS_FILE);
const SHA = createHash('sha256').update(WEIGHTS).digest('hex');
const ADVICE = /Without the Hub: import a local copy \(mobilevit-studio models import <file> --as mobilevit_xxs\), set HF_ENDPOINT to a mirror of huggingface\.co, or train from scratch/;

let ws: string;
beforeEach(() => { ws = mkdtempSync(join(tmpdir(), 'mvit-offline-')); });
afterEach(() => rmSync(ws, { recursive: true, force: true }));

describe('a pull without the Hub says what happened and what to do', () => {
  it('no DNS (a name that never resolves)', async () => {
    const err = await pullZoo('xxs', ws, { env: { HF_ENDPOINT: 'http://hub.invalid' } }).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.failure).toBe('unreachable');
    expect(err.message).toMatch(/cannot reach hub\.invalid: its name does not resolve \((ENOTFOUND|EAI_AGAIN)/);
    expect(err.message).toMatch(ADVICE);
    expect(err.message).not.toMatch(/getaddrinfo/);
  });

  it('nothing listens (refused), and nothing is left in the cache', async () => {
    const port = await closedPort();
    await expect(pullZoo('xxs', ws, { env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } }))
      .rejects.toThrow(new RegExp(`127\\.0\\.0\\.1 refused the connection \\(ECONNREFUSED: nothing listens at 127\\.0\\.0\\.1:${port}.*Without the Hub`));
    expect(readdirSync(zooPaths(findZooEntry('xxs')!, ws).dir)).toEqual([]);
  });

  it('a proxy that refuses the tunnel (407)', async () => {
    const proxy = http.createServer();
    proxy.on('connect', (_req, socket) => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const { port } = proxy.address() as AddressInfo;
    try {
      const err = await pullZoo('xxs', ws, { env: { HTTPS_PROXY: `http://127.0.0.1:${port}` } }).catch((e) => e);
      expect(err.failure).toBe('proxy');
      expect(err.message).toMatch(new RegExp(`the proxy 127\\.0\\.0\\.1:${port} refused the tunnel to huggingface\\.co \\(HTTP 407: it wants credentials`));
      expect(err.message).toMatch(ADVICE);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('the Hub down (503), or a plain-HTTP proxy that cannot reach it', async () => {
    const down = http.createServer((_req, res) => res.writeHead(503).end('maintenance'));
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const port = (down.address() as AddressInfo).port;
    try {
      await expect(pullZoo('xxs', ws, { env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } }))
        .rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${port} is unavailable \\(HTTP 503: down or overloaded; try again later\\)\\. Without the Hub`));
      // The same server as a plain-HTTP proxy: its 503 is the proxy's answer.
      const err = await pullZoo('xxs', ws, { env: { HF_ENDPOINT: 'http://hub.example', HTTP_PROXY: `http://127.0.0.1:${port}` } }).catch((e) => e);
      expect(err.failure).toBe('proxy');
      expect(err.message).toMatch(new RegExp(`the proxy 127\\.0\\.0\\.1:${port} could not reach hub\\.example \\(HTTP 503\\)\\. Without the Hub`));
    } finally {
      await new Promise<void>((r) => down.close(() => r()));
    }
  });

  describe('the Hub answers', () => {
    let hub: FakeHub;
    beforeAll(async () => { hub = await new FakeHub().start(); });
    afterAll(async () => { await hub.stop(); });

    it('404 and 401: what the Hub said, with the ways around it; a checksum failure gets no such advice', async () => {
      await expect(pullZoo('xxs', ws, { env: { HF_ENDPOINT: hub.endpoint } })).rejects.toThrow(/not found on .*HTTP 404.*Without the Hub/);
      const gated = http.createServer((_req, res) => res.writeHead(401).end('gated'));
      await new Promise<void>((r) => gated.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(gated.address() as AddressInfo).port}`;
        await expect(pullZoo('xxs', ws, { env: { HF_ENDPOINT: url } })).rejects.toThrow(/refused access \(HTTP 401\); a gated or private repository needs HF_TOKEN\. Without the Hub/);
      } finally {
        await new Promise<void>((r) => gated.close(() => r()));
      }
      hub.add('timm/mobilevit_xxs.cvnets_in1k', 'main', 'model.safetensors', { body: WEIGHTS, mode: 'corrupt' });
      const err = await pullZoo('xxs', ws, { env: { HF_ENDPOINT: hub.endpoint } }).catch((e) => e);
      expect(err.message).toMatch(/checksum failed/);
      expect(err.message).not.toMatch(/Without the Hub/);
    });
  });
});

describe('importZoo: a local file into the cache', () => {
  it('a .safetensors file becomes the zoo model, usable offline afterwards', async () => {
    const r = await importZoo(WEIGHTS_FILE, 'mobilevit_xxs', ws);
    expect(r).toMatchObject({ name: 'mobilevit_xxs', sha256: SHA, size: WEIGHTS.length, downloaded: false });
    expect(r.notes.join(' ')).toMatch(/imported .* as mobilevit_xxs .*not against the Hub's checksum/);
    expect(isCached(findZooEntry('xxs')!, ws)).toBe(true);
    const studio = readSafetensors(r.weights);
    // `source` names the zoo row (what inference looks its preprocessing up by); the file is recorded beside it.
    expect(studio.metadata).toMatchObject({ source: 'timm/mobilevit_xxs.cvnets_in1k@main/model.safetensors', imported_from: WEIGHTS_FILE, source_sha256: SHA, variant: 'mobilevit_xxs' });
    expect(JSON.parse(studio.metadata.labels)).toHaveLength(1000);
    const offline = await pullZoo('xxs', ws, { env: { HF_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(offline).toMatchObject({ downloaded: false, sha256: SHA, weights: r.weights });
    expect(readdirSync(zooPaths(findZooEntry('xxs')!, ws).dir).sort()).toEqual(['model.safetensors', 'model.safetensors.sha256', 'model.studio.safetensors']);
  });

  it('without a name, the file is recognised by its key names and size, or the person is asked to name it', async () => {
    const timm = await importZoo(WEIGHTS_FILE, undefined, ws);
    expect(timm.name).toBe('mobilevit_xxs');
    expect(timm.notes.join(' ')).toMatch(/recognised by its key names and size/);
    const hfFile = join(ws, 'hf.safetensors');
    writeFileSync(hfFile, encodeSafetensors(huggingFaceFixture().hf));
    expect((await importZoo(hfFile, undefined, ws)).name).toBe('apple_mobilevit_xxs');
    expect(existsSync(join(ws, 'models', 'apple'))).toBe(true);
    const tiny = join(ws, 'tiny.safetensors');
    writeFileSync(tiny, encodeSafetensors(new Map([['stem.conv.weight', { shape: [16, 3, 3, 3], data: new Float32Array(432) }]])));
    await expect(importZoo(tiny, undefined, ws)).rejects.toThrow(/tiny\.safetensors: cannot tell which zoo model this is .*name it with --as \(one of mobilevit_xxs, /);
  });

  it('a file is read by its content, not its name: safetensors named .pt imports; a zip that torch.save did not write is refused', async () => {
    const pt = join(ws, 'model.pt');
    writeFileSync(pt, WEIGHTS);
    expect((await importZoo(pt, 'xxs', ws)).name).toBe('mobilevit_xxs');
    const zip = join(ws, 'disguised.safetensors');
    writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(100)]));
    await expect(importZoo(zip, 'mobilenetv2_100', ws)).rejects.toThrow(/disguised\.safetensors is not a zip archive .*; nothing was cached/);
    expect(isCached(findZooEntry('mobilenetv2_100')!, ws)).toBe(false);
  });

  it('a file of another architecture is refused and what was cached under the name stays usable', async () => {
    const first = await importZoo(WEIGHTS_FILE, 'mobilevit_xxs', ws);
    await expect(importZoo(WEIGHTS_FILE, 'mobilenetv2_100', ws)).rejects.toThrow(/\.safetensors: .*no stem convolution conv_stem\.weight .*not a mobilenetv2_100 checkpoint; nothing was cached/);
    expect(isCached(findZooEntry('mobilenetv2_100')!, ws)).toBe(false);
    expect(existsSync(zooPaths(findZooEntry('mobilenetv2_100')!, ws).dir)).toBe(false); // not even its folder
    const bad = join(ws, 'truncated.safetensors');
    writeFileSync(bad, WEIGHTS.subarray(0, WEIGHTS.length - 10));
    await expect(importZoo(bad, 'mobilevit_xxs', ws)).rejects.toThrow(/truncated\.safetensors: .*nothing was cached/);
    const still = await pullZoo('xxs', ws, { env: { HF_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(still).toMatchObject({ downloaded: false, sha256: first.sha256 });
    expect(readdirSync(zooPaths(findZooEntry('xxs')!, ws).dir).filter((f) => f.endsWith('.import'))).toEqual([]);
  });

  it('a missing file, a folder, or a symlinked partial copy: one clear error naming it', async () => {
    await expect(importZoo(join(ws, 'nope.safetensors'), 'xxs', ws)).rejects.toThrow(/nope\.safetensors: no such file/);
    await expect(importZoo(ws, 'xxs', ws)).rejects.toThrow(/is a directory|not a regular file|directory/);
    const p = zooPaths(findZooEntry('xxs')!, ws);
    const victim = join(ws, 'victim.txt');
    writeFileSync(victim, 'precious');
    await importZoo(WEIGHTS_FILE, 'xxs', ws); // creates the folder
    symlinkSync(victim, `${p.hubFile}.import`);
    await expect(importZoo(WEIGHTS_FILE, 'xxs', ws)).rejects.toThrow(/\.import is a symbolic link: refused/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(existsSync(`${p.hubFile}.import`)).toBe(false); // the link itself was removed, never followed
  });
});
