// Downloading zoo files from a local server that imitates the Hugging Face Hub: redirects with X-Linked-Etag,
// Range resumes, corrupted bodies, missing repositories, proxies, tokens, cancelling, and the offline cache.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { ChecksumError, DownloadError, downloadHubFile, proxyFor, resolveUrl, type DownloadProgress } from '../../src/zoo/download.ts';
import { IMAGENET_CLASSES } from '../../src/zoo/labels.ts';
import { resolveWeights } from '../../src/zoo/resolve.ts';
import { isCached, listZoo, pullZoo, zooPaths } from '../../src/zoo/store.ts';
import { findZooEntry, ZOO } from '../../src/zoo/zoo.ts';
import { FakeHub, FakeProxy } from '../helpers/fake-hub.ts';
import { fixture } from '../helpers/fixtures.ts';

const WEIGHTS = readFileSync(fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'));
const SHA = createHash('sha256').update(WEIGHTS).digest('hex');
const XXS = 'timm/mobilevit_xxs.cvnets_in1k';

let hub: FakeHub;
let ws: string;
const env = () => ({ HF_ENDPOINT: hub.endpoint });

beforeAll(async () => {
  hub = await new FakeHub().start();
});
afterAll(async () => { await hub.stop(); });
beforeEach(() => { ws = mkdtempSync(join(tmpdir(), 'zoo-')); hub.requests.length = 0; });
afterEach(() => rmSync(ws, { recursive: true, force: true }));

describe('the zoo table', () => {
  it('short names, aliases and repo ids resolve to the same entries; a path does not', () => {
    expect(findZooEntry('mobilevit_xxs')?.repo).toBe(XXS);
    expect(findZooEntry('xxs')?.repo).toBe(XXS);
    expect(findZooEntry('TIMM/MobileViT_XXS.cvnets_in1k')?.name).toBe('mobilevit_xxs');
    expect(findZooEntry('apple/mobilevit-small')).toMatchObject({ revision: 'refs/pr/2', channels: 'BGR', variant: 'mobilevit_s', keys: 'huggingface' });
    expect(findZooEntry('timm/mobilenetv2_100.ra_in1k')).toMatchObject({ variant: 'mobilenet_v2', normalize: { mean: [0.485, 0.456, 0.406] } });
    expect(findZooEntry('mobilenetv2_100')?.params).toBe(3_504_872);
    expect(findZooEntry(`${XXS}@main`)?.name).toBe('mobilevit_xxs');
    expect(findZooEntry(`${XXS}@other`)).toBeUndefined();
    expect(findZooEntry('runs/abc/best.safetensors')).toBeUndefined();
    expect(new Set(ZOO.map((e) => e.name)).size).toBe(ZOO.length);
  });

  it('resolve URLs encode the revision (refs/pr/2 → refs%2Fpr%2F2)', () => {
    expect(resolveUrl('https://huggingface.co/', 'apple/mobilevit-small', 'refs/pr/2', 'model.safetensors'))
      .toBe('https://huggingface.co/apple/mobilevit-small/resolve/refs%2Fpr%2F2/model.safetensors');
  });

  it('ships the 1000 ImageNet class names in the classifiers\' order', () => {
    expect(IMAGENET_CLASSES).toHaveLength(1000);
    expect(IMAGENET_CLASSES[0]).toMatch(/^tench/);
    expect(IMAGENET_CLASSES[207]).toMatch(/golden retriever/);
    expect(IMAGENET_CLASSES[999]).toMatch(/toilet tissue/);
  });
});

describe('pulling from a hub', () => {
  it('follows the 302, checks X-Linked-Etag, stores atomically with a .sha256, reports progress; the token goes to the hub only', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS });
    const progress: DownloadProgress[] = [];
    const r = await pullZoo('mobilevit_xxs', ws, { env: env(), token: 'hf_secret', onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ repo: XXS, revision: 'main', sha256: SHA, size: WEIGHTS.length, downloaded: true });
    expect(r.path).toBe(join(ws, 'models', 'timm', 'mobilevit_xxs.cvnets_in1k', 'main', 'model.safetensors'));
    expect(readFileSync(r.path).equals(WEIGHTS)).toBe(true);
    expect(readFileSync(`${r.path}.sha256`, 'utf8')).toBe(`${SHA}  model.safetensors\n`);
    expect(readdirSync(join(r.path, '..')).filter((f) => f.endsWith('.part') || f.endsWith('.tmp'))).toEqual([]);
    const last = progress.at(-1)!;
    expect(last.received).toBe(WEIGHTS.length);
    expect(last.total).toBe(WEIGHTS.length);
    const resolveReq = hub.requests.find((q) => q.url.includes('/resolve/'))!;
    const cdnReq = hub.requests.find((q) => q.url.startsWith('/cdn/'))!;
    expect(resolveReq.authorization).toBe('Bearer hf_secret');
    expect(cdnReq.host).toMatch(/^localhost:/);
    expect(cdnReq.authorization).toBeUndefined();
    // The studio's copy carries the ImageNet labels.
    const studio = readSafetensors(r.weights);
    expect(JSON.parse(studio.metadata.labels)).toHaveLength(1000);
    expect(studio.metadata.source_sha256).toBe(SHA);
  });

  it('a cached model works offline (no request at all), and shows as cached', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS });
    await pullZoo('mobilevit_xxs', ws, { env: env() });
    const before = hub.requests.length;
    const offline = { HF_ENDPOINT: 'http://127.0.0.1:9' }; // nothing listens there
    const again = await pullZoo(XXS, ws, { env: offline });
    expect(again.downloaded).toBe(false);
    expect(again.sha256).toBe(SHA);
    expect(hub.requests.length).toBe(before);
    expect(isCached(findZooEntry('xxs')!, ws)).toBe(true);
    expect(listZoo(ws).find((l) => l.name === 'mobilevit_xxs')).toMatchObject({ cached: true, size: WEIGHTS.length, sizeApprox: false });
    expect(listZoo(ws).find((l) => l.name === 'mobilevit_s')).toMatchObject({ cached: false, sizeApprox: true });
    const resolved = await resolveWeights('xxs', ws, { env: offline });
    expect(resolved.path).toBe(zooPaths(findZooEntry('xxs')!, ws).weights);
  });

  it('a corrupted body: "checksum failed", and neither the file nor a partial is left', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS, mode: 'corrupt' });
    await expect(pullZoo('xxs', ws, { env: env() })).rejects.toThrow(/checksum failed/);
    await expect(pullZoo('xxs', ws, { env: env() })).rejects.toBeInstanceOf(ChecksumError);
    const dir = zooPaths(findZooEntry('xxs')!, ws).dir;
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the sha256 is taken from ETag when there is no X-Linked-Etag', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS, mode: 'corrupt', etagOnly: true });
    await expect(pullZoo('xxs', ws, { env: env() })).rejects.toThrow(/checksum failed/);
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS, etagOnly: true });
    const r = await downloadHubFile(XXS, 'main', 'model.safetensors', join(ws, 'x.safetensors'), { env: env() });
    expect(r.verifiedBy).toBe('etag');
    expect(r.sha256).toBe(SHA);
  });

  it('a repository the hub does not have: a clear 404 error, nothing stored', async () => {
    await expect(downloadHubFile('nobody/nothing', 'main', 'model.safetensors', join(ws, 'm', 'model.safetensors'), { env: env() }))
      .rejects.toThrow(/nobody\/nothing@main\/model.safetensors: not found .*404/);
    expect(existsSync(join(ws, 'm', 'model.safetensors'))).toBe(false);
  });

  it('a connection dropped mid-file is resumed with Range and the file verifies', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS, mode: 'drop', drops: 2 });
    const r = await downloadHubFile(XXS, 'main', 'model.safetensors', join(ws, 'model.safetensors'), { env: env() });
    expect(r.resumes).toBe(2);
    expect(r.sha256).toBe(SHA);
    const ranges = hub.requests.filter((q) => q.url.startsWith('/cdn/')).map((q) => q.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges.slice(1).every((x) => /^bytes=\d+-$/.test(x ?? ''))).toBe(true);
    expect(Number(ranges[1]!.match(/\d+/)![0])).toBe(WEIGHTS.length >> 1);
    expect(readFileSync(join(ws, 'model.safetensors')).equals(WEIGHTS)).toBe(true);
  });

  it('gives up after the allowed number of drops, keeping the partial file for a later resume', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS, mode: 'drop', drops: 5 });
    const dest = join(ws, 'model.safetensors');
    await expect(downloadHubFile(XXS, 'main', 'model.safetensors', dest, { env: env(), retries: 1 })).rejects.toThrow(/dropped 2 times/);
    expect(existsSync(`${dest}.part`)).toBe(true);
    expect(existsSync(dest)).toBe(false);
    // A later call continues from the partial file.
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS });
    hub.requests.length = 0;
    const r = await downloadHubFile(XXS, 'main', 'model.safetensors', dest, { env: env() });
    expect(r.sha256).toBe(SHA);
    expect(hub.requests.find((q) => q.url.startsWith('/cdn/'))!.range).toMatch(/^bytes=[1-9]\d*-$/);
  });

  it('cancelling stops the download and publishes nothing', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS, mode: 'slow' });
    const control = new AbortController();
    const dest = join(ws, 'model.safetensors');
    const p = downloadHubFile(XXS, 'main', 'model.safetensors', dest, {
      env: env(), signal: control.signal, onProgress: (q) => { if (q.received > 100_000) control.abort(); },
    });
    await expect(p).rejects.toThrow(/cancelled/);
    expect(existsSync(dest)).toBe(false);
  });

  it('refuses a file larger than its cap before writing it', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS });
    await expect(downloadHubFile(XXS, 'main', 'model.safetensors', join(ws, 'm.safetensors'), { env: env(), maxBytes: 1_000_000 }))
      .rejects.toThrow(/over the 1.0 MB limit/);
    expect(existsSync(join(ws, 'm.safetensors.part'))).toBe(false);
  });
});

describe('proxies from the environment', () => {
  let proxy: FakeProxy;
  beforeAll(async () => { proxy = await new FakeProxy().start(); });
  afterAll(async () => { await proxy.stop(); });

  it('HTTP_PROXY carries the requests; NO_PROXY bypasses it', async () => {
    hub.add(XXS, 'main', 'model.safetensors', { body: WEIGHTS });
    proxy.seen.length = 0;
    const r = await downloadHubFile(XXS, 'main', 'model.safetensors', join(ws, 'a.safetensors'), { env: { ...env(), HTTP_PROXY: proxy.url, NO_PROXY: '' } });
    expect(r.sha256).toBe(SHA);
    expect(proxy.seen.some((u) => u.includes('/resolve/main/model.safetensors'))).toBe(true);
    expect(proxy.seen.some((u) => u.includes('/cdn/'))).toBe(true);
    proxy.seen.length = 0;
    await downloadHubFile(XXS, 'main', 'model.safetensors', join(ws, 'b.safetensors'), { env: { ...env(), HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1,localhost' } });
    expect(proxy.seen).toEqual([]);
  });

  it('proxyFor picks HTTPS_PROXY for https URLs and matches NO_PROXY suffixes and ports', () => {
    const e = { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://plain:8080', NO_PROXY: '.internal.example, cdn.example:8443' };
    expect(proxyFor(new URL('https://huggingface.co/x'), e)?.host).toBe('proxy:3128');
    expect(proxyFor(new URL('http://huggingface.co/x'), e)?.host).toBe('plain:8080');
    expect(proxyFor(new URL('https://a.internal.example/x'), e)).toBeNull();
    expect(proxyFor(new URL('https://cdn.example:8443/x'), e)).toBeNull();
    expect(proxyFor(new URL('https://cdn.example/x'), e)?.host).toBe('proxy:3128');
    expect(proxyFor(new URL('https://huggingface.co/x'), { ...e, NO_PROXY: '*' })).toBeNull();
    expect(proxyFor(new URL('https://huggingface.co/x'), {})).toBeNull();
  });
});

it('resolveWeights: an existing file is used as it is; an unknown name that is no file is one clear error', async () => {
  const f = join(ws, 'mine.safetensors');
  writeFileSync(f, WEIGHTS);
  expect((await resolveWeights(f, ws)).path).toBe(f);
  await expect(resolveWeights(join(ws, 'missing.safetensors'), ws)).rejects.toThrow(/no such file, and not a zoo model/);
  expect(DownloadError).toBeDefined();
});
