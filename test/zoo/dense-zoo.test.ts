// The zoo's segmentation and detection rows against a local server that imitates the Hub and a publisher's
// plain web server: a DeepLabv3 row pulled from the "Hub" (its sha256 checked) is used by `info` and `forward`
// by its zoo name (its parameter count checked by `info`); an SSDLite row (a PyTorch .pt with no published checksum) has the sha256 of its first
// download recorded and a changed file refused later; a .pt imports; a hostile .pt is refused with nothing written.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { denseNetworkFromWeights } from '../../src/model/dense-from-file.ts';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.ts';
import { firstUsePath } from '../../src/zoo/first-use.ts';
import { COCO_CLASSES } from '../../src/zoo/labels.ts';
import { importZoo, listZoo, pullZoo, zooPaths } from '../../src/zoo/store.ts';
import { findZooEntry } from '../../src/zoo/zoo.ts';
import { runCli } from '../helpers/cli.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture, maxAbsDiff } from '../helpers/fixtures.ts';

const SEG = readFileSync(fixture('seg/deeplabv3_mobilevit_xxs_256.weights.safetensors'));
// Written by PyTorch itself from the detector fixture (test/fixtures/det/make_pt.py), as ml-cvnets publishes it.
const DET_PT = fixture('det/ssd_mobilevit_xxs_320.pt');
const DET = readFileSync(DET_PT);
const DET_SHA = createHash('sha256').update(DET).digest('hex');
const DET_PATH = 'detection/ssd_mobilevit_xxs_320.pt';

let hub: FakeHub;
let ws: string;
const env = () => ({ HF_ENDPOINT: hub.endpoint, CVNETS_MODELS_URL: `${hub.endpoint}/cdn` });

beforeAll(async () => { hub = await new FakeHub().start(); });
afterAll(async () => { await hub.stop(); });
beforeEach(() => { ws = mkdtempSync(join(tmpdir(), 'dense-zoo-')); hub.requests.length = 0; });
afterEach(() => rmSync(ws, { recursive: true, force: true }));

describe('the dense rows', () => {
  it('name their networks, label sets, sources and scores', () => {
    expect(findZooEntry('deeplabv3_mobilevit_s')).toMatchObject({ repo: 'apple/deeplabv3-mobilevit-small', revision: 'refs/pr/2', file: 'model.safetensors', labels: 'voc-21', channels: 'BGR' });
    expect(findZooEntry('apple/deeplabv3-mobilevit-xx-small')).toMatchObject({ variant: 'deeplabv3_mobilevit_xxs', revision: 'refs/pr/2', file: 'model.safetensors' });
    expect(findZooEntry('ssdlite_mobilevit_xs')).toMatchObject({ cvnets: true, file: 'detection/ssd_mobilevit_xs_320.pt', keys: 'ml-cvnets', labels: 'coco-81', score: { metric: 'mAP', value: 24.8 } });
    expect(findZooEntry('ssdlite_mobilevit_s')?.sha256).toBeUndefined(); // ml-cvnets publishes no checksum
    expect(COCO_CLASSES).toHaveLength(80);
    expect(listZoo(ws).find((l) => l.name === 'deeplabv3_mobilevit_xs')).toMatchObject({ cached: false, score: { metric: 'mIoU' }, top1: null });
  });
});

describe('pulling a dense row', () => {
  it('a DeepLabv3 row: downloaded and checked against the Hub\'s sha256; info and forward take its zoo name', async () => {
    hub.add('apple/deeplabv3-mobilevit-xx-small', 'refs/pr/2', 'model.safetensors', { body: SEG });
    const r = await pullZoo('deeplabv3_mobilevit_xxs', ws, { env: env() });
    expect(r).toMatchObject({ downloaded: true, size: SEG.length });
    const copy = readSafetensors(r.weights);
    expect(JSON.parse(copy.metadata.labels)).toHaveLength(21);
    expect(copy.metadata).toMatchObject({ variant: 'deeplabv3_mobilevit_xxs', label_set: 'voc-21', format: 'huggingface' });

    const loaded = denseNetworkFromWeights('deeplabv3_mobilevit_xxs', r.weights);
    try {
      expect(loaded.labels?.[15]).toBe('person');
    } finally { loaded.network.dispose(); }

    const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, MOBILEVIT_WORKSPACE: process.env.MOBILEVIT_WORKSPACE };
    process.env.HF_ENDPOINT = 'http://127.0.0.1:9'; // cached: no network needed
    process.env.MOBILEVIT_WORKSPACE = ws;
    try {
      // The row's parameter count is the network's, as info counts it.
      const info = await runCli('info', '--variant', findZooEntry('deeplabv3_mobilevit_xxs')!.variant, '--num-classes', '21', '--json', '--image-size', '64');
      expect(info.code, info.err.join('\n')).toBe(0);
      expect(JSON.parse(info.out)).toMatchObject({ task: 'segmentation', params: findZooEntry('deeplabv3_mobilevit_xxs')!.params });
      const out = join(ws, 'seg.safetensors');
      const f = await runCli('forward', '--weights', 'deeplabv3_mobilevit_xxs', '--input', fixture('seg/deeplabv3_mobilevit_xxs_256.io.safetensors'),
        '--output', out, '--backend', 'wasm');
      expect(f.code, f.err.join('\n')).toBe(0);
      const want = readSafetensors(fixture('seg/deeplabv3_mobilevit_xxs_256.io.safetensors')).tensors.get('logits_nhwc')!;
      expect(maxAbsDiff(readSafetensors(out).tensors.get('logits')!.data, want.data)).toBeLessThan(1e-4);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });

  it('an SSDLite .pt without a published checksum: the first download\'s sha256 is recorded, and a changed file is refused later', async () => {
    hub.publish(DET_PATH, { body: DET });
    const entry = findZooEntry('ssdlite_mobilevit_xxs')!;
    const first = await pullZoo(entry, ws, { env: env(), token: 'hf_secret' });
    expect(first).toMatchObject({ downloaded: true, sha256: DET_SHA });
    expect(first.notes.join('\n')).toMatch(/has no published checksum: the sha256 of this first download \([0-9a-f]{64}\) is recorded in .*first-use\.json/);
    expect(JSON.parse(readFileSync(firstUsePath(ws), 'utf8'))[`${entry.repo}@${entry.revision}/${entry.file}`]).toMatchObject({ sha256: DET_SHA, size: DET.length });
    expect(hub.requests.every((q) => q.authorization === undefined)).toBe(true); // the Hub's token never goes to another site
    const copy = readSafetensors(first.weights);
    expect(JSON.parse(copy.metadata.labels)).toEqual(['background', ...COCO_CLASSES]);
    const net = denseNetworkFromWeights('ssdlite_mobilevit_xxs', first.weights);
    net.network.dispose();
    expect(net.report.notes.join('\n')).toMatch(/BGR/);

    // The cache is cleared; the same file downloads again and matches.
    rmSync(zooPaths(entry, ws).dir, { recursive: true });
    const again = await pullZoo(entry, ws, { env: env() });
    expect(again.notes.join('\n')).toMatch(/matched the sha256 recorded at its first download/);

    // The publisher's file changes (one weight): refused, nothing cached, the record kept.
    rmSync(zooPaths(entry, ws).dir, { recursive: true });
    const changed = Buffer.from(DET);
    changed[changed.length - 1000] ^= 0x01;
    hub.publish(DET_PATH, { body: changed });
    await expect(pullZoo(entry, ws, { env: env() })).rejects.toThrow(/checksum failed \(sha256 [0-9a-f]{64}, its first download \(.*\) had [0-9a-f]{64}\)/);
    expect(existsSync(zooPaths(entry, ws).hubFile) || existsSync(zooPaths(entry, ws).weights)).toBe(false);
    expect(JSON.parse(readFileSync(firstUsePath(ws), 'utf8'))[`${entry.repo}@${entry.revision}/${entry.file}`].sha256).toBe(DET_SHA);
  });
});

describe('importing PyTorch checkpoints', () => {
  it('a .pt is recognised by its ml-cvnets names and size, and cached with its studio copy', async () => {
    const r = await importZoo(DET_PT, undefined, ws);
    expect(r).toMatchObject({ name: 'ssdlite_mobilevit_xxs', sha256: DET_SHA });
    expect(readFileSync(r.path).equals(DET)).toBe(true);
    expect(readSafetensors(r.weights).metadata).toMatchObject({ variant: 'ssdlite_mobilevit_xxs', imported_from: DET_PT });
    // Cached: a pull needs no network.
    expect((await pullZoo('ssdlite_mobilevit_xxs', ws, { env: { HF_ENDPOINT: 'http://127.0.0.1:9', CVNETS_MODELS_URL: 'http://127.0.0.1:9' } })).downloaded).toBe(false);
  });

  it('a hostile .pt (a pickle that would call os.system) is refused in one line, and nothing is written', async () => {
    const evil = join(ws, 'evil.pt');
    copyFileSync(fixture('torch/evil_reduce.pt'), evil);
    await expect(importZoo(evil, 'ssdlite_mobilevit_xxs', ws)).rejects.toThrow(/evil\.pt.*posix\.system.*nothing was cached/);
    expect(existsSync(join(ws, 'models'))).toBe(false);
  });

  it('a .pt of the wrong network is refused by its keys and shapes', async () => {
    const wrong = join(ws, 'wrong.safetensors');
    writeSafetensors(wrong, readSafetensors(fixture('seg/deeplabv3_mobilevit_xxs_256.weights.safetensors')).tensors);
    await expect(importZoo(wrong, 'ssdlite_mobilevit_xxs', ws)).rejects.toThrow(/not a ssdlite_mobilevit_xxs checkpoint/);
    writeFileSync(join(ws, 'x'), '');
    expect(readdirSync(ws)).not.toContain('models');
  });
});
