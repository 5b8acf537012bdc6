// `models list/pull` and --weights <zoo name> as a user runs them: a real CLI process against a local
// imitation of the Hugging Face Hub.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { IMAGENET_CLASSES } from '../../src/zoo/labels.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture, maxAbsDiff } from '../helpers/fixtures.ts';

const WEIGHTS = readFileSync(fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors'));
const SHA = createHash('sha256').update(WEIGHTS).digest('hex');
let hub: FakeHub;
let ws: string;

const runWith = (endpoint: string, workspace: string, args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
  const env = { ...process.env, MOBILEVIT_BACKEND: 'wasm', HF_ENDPOINT: endpoint, MOBILEVIT_WORKSPACE: workspace, HTTP_PROXY: '', http_proxy: '' };
  execFile('node', ['bin/mobilevit-studio.mjs', ...args], { env }, (err, stdout, stderr) =>
    resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
});
const run = (...args: string[]) => runWith(hub.endpoint, ws, args);

beforeAll(async () => {
  hub = await new FakeHub().start();
  hub.add('timm/mobilevit_xxs.cvnets_in1k', 'main', 'model.safetensors', { body: WEIGHTS });
  ws = mkdtempSync(join(tmpdir(), 'mvit-models-'));
});
afterAll(async () => { await hub.stop(); rmSync(ws, { recursive: true, force: true }); });

describe('models list / pull', () => {
  it('list, pull (the last JSON line), list again shows it cached; a second pull uses no network', async () => {
    let r = await run('models', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    const before = JSON.parse(r.stdout) as { name: string; cached: boolean; variant: string; source: string; size: number }[];
    expect(before.map((m) => m.name)).toEqual(['mobilevit_xxs', 'mobilevit_xs', 'mobilevit_s', 'mobilenetv2_100', 'apple_mobilevit_xxs', 'apple_mobilevit_xs', 'apple_mobilevit_s',
      'deeplabv3_mobilevit_xxs', 'deeplabv3_mobilevit_xs', 'deeplabv3_mobilevit_s', 'ssdlite_mobilevit_xxs', 'ssdlite_mobilevit_xs', 'ssdlite_mobilevit_s']);
    expect(before.every((m) => !m.cached && m.size > 0)).toBe(true);

    r = await run('models', 'pull', 'mobilevit_xxs', '--json');
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(Object.keys(last)).toEqual(['repo', 'revision', 'path', 'sha256', 'size']);
    expect(last).toMatchObject({ repo: 'timm/mobilevit_xxs.cvnets_in1k', revision: 'main', sha256: SHA, size: WEIGHTS.length });
    expect(last.path).toBe(join(ws, 'models', 'timm', 'mobilevit_xxs.cvnets_in1k', 'main', 'model.safetensors'));
    expect(r.stderr).toMatch(/100 %.*MB\/s/);

    r = await run('models', 'list');
    expect(r.stdout).toMatch(/mobilevit_xxs\s+mobilevit_xxs\s+timm\/mobilevit_xxs.cvnets_in1k@main\s+5\.1 MB\s+yes/);
    const requests = hub.requests.length;
    r = await run('models', 'pull', 'timm/mobilevit_xxs.cvnets_in1k');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cached /);
    expect(hub.requests.length).toBe(requests);
  });

  it('a repository the hub lacks is one line and exit 1; a name outside the zoo is a usage error', async () => {
    let r = await run('models', 'pull', 'apple/mobilevit-small');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/apple\/mobilevit-small@refs\/pr\/2\/model.safetensors: not found .*404/);
    r = await run('models', 'pull', 'someone/else');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a zoo model/);
    r = await run('models', 'fetch');
    expect(r.code).toBe(2);
  });

  it('--weights takes a zoo name: forward matches timm, predict shows ImageNet names without --variant', async () => {
    const out = join(ws, 'logits.safetensors');
    let r = await run('forward', '--weights', 'xxs', '--input', fixture('mobilevit_xxs_256_b1_c1000.io.safetensors'), '--output', out);
    expect(r.code, r.stderr).toBe(0);
    const logits = readSafetensors(out).tensors.get('logits')!;
    const ref = readSafetensors(fixture('mobilevit_xxs_256_b1_c1000.io.safetensors')).tensors.get('logits')!;
    expect(maxAbsDiff(logits.data, ref.data)).toBeLessThan(1e-4);

    const img = join(ws, 'photo.png');
    await sharp({ create: { width: 280, height: 260, channels: 3, background: { r: 30, g: 140, b: 60 } } }).png().toFile(img);
    r = await run('predict', '--weights', 'timm/mobilevit_xxs.cvnets_in1k', '--image', img, '--json');
    expect(r.code, r.stderr).toBe(0);
    const top = JSON.parse(r.stdout).top as { index: number; label: string }[];
    expect(top).toHaveLength(5);
    for (const t of top) expect(t.label).toBe(IMAGENET_CLASSES[t.index]);
  });
});

describe('offline: models pull says what to do, models import fills the cache', () => {
  it('a pull with nothing listening names the failure and the ways around it; import, then list shows it cached', async () => {
    const offlineWs = mkdtempSync(join(tmpdir(), 'mvit-models-offline-'));
    const nowhere = 'http://127.0.0.1:9'; // the discard port: nothing listens there
    try {
      let r = await runWith(nowhere, offlineWs, ['models', 'pull', 'mobilevit_xxs']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/127\.0\.0\.1 refused the connection \(ECONNREFUSED.*Without the Hub: import a local copy \(mobilevit-studio models import <file> --as mobilevit_xxs\), set HF_ENDPOINT to a mirror/);
      r = await runWith(nowhere, offlineWs, ['models', 'import', fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^imported timm\/mobilevit_xxs\.cvnets_in1k@main: .*; use --weights mobilevit_xxs/);
      expect(r.stderr).toMatch(/as mobilevit_xxs, recognised by its key names and size .*not against the Hub's checksum/);
      r = await runWith(nowhere, offlineWs, ['models', 'list', '--json']);
      expect((JSON.parse(r.stdout) as { name: string; cached: boolean }[]).find((m) => m.name === 'mobilevit_xxs')?.cached).toBe(true);
    } finally {
      rmSync(offlineWs, { recursive: true, force: true });
    }
  });
});
