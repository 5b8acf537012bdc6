// --weights as every command resolves it: a file stays a file, a run folder becomes its best checkpoint (and
// the run's variant), a zoo name becomes the cached file (and its variant) without any network when cached.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveWeightsFlag } from '../../src/cli/weights.ts';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { CheckpointStore, FILES, createRun } from '../../src/run/index.ts';
import type { ParsedFlags } from '../../src/cli/args.ts';
import { FakeHub } from '../helpers/fake-hub.ts';
import { fixture } from '../helpers/fixtures.ts';

const W = fixture('mobilevit_xxs_256_b2_c10.weights.safetensors');
/** What the hub serves must be the zoo model itself (a pull checks its keys and shapes): XXS with 1000 classes. */
const ZOO_XXS = fixture('mobilevit_xxs_256_b1_c1000.weights.safetensors');
const io = { out: () => {}, err: (l: string) => lines.push(l) };
let lines: string[] = [];
let ws: string;
let hub: FakeHub;
const saved = process.env.HF_ENDPOINT;

beforeAll(async () => {
  ws = mkdtempSync(join(tmpdir(), 'weights-flag-'));
  hub = await new FakeHub().start();
  hub.add('timm/mobilevit_xxs.cvnets_in1k', 'main', 'model.safetensors', { body: readFileSync(ZOO_XXS) });
  process.env.HF_ENDPOINT = hub.endpoint;
});
afterAll(async () => {
  await hub.stop();
  rmSync(ws, { recursive: true, force: true });
  if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
});

describe('resolveWeightsFlag', () => {
  it('leaves a path alone, even one that does not exist (the loader says so)', async () => {
    const flags: ParsedFlags = { weights: W };
    expect((await resolveWeightsFlag(flags, io))?.path ?? null).toBeNull();
    expect(flags).toEqual({ weights: W });
    const missing: ParsedFlags = { weights: '/nope/w.safetensors' };
    await resolveWeightsFlag(missing, io);
    expect(missing.weights).toBe('/nope/w.safetensors');
  });

  it('a run folder: its best checkpoint and its variant; one without checkpoints is refused', async () => {
    const run = createRun({ data: ws, variant: 'mobilevit_xs' }, { workspace: ws });
    const empty: ParsedFlags = { weights: run.dir };
    await expect(resolveWeightsFlag(empty, io)).rejects.toThrow(/has no checkpoint yet/);
    new CheckpointStore(join(run.dir, FILES.checkpoints)).save('best', 7, readSafetensors(W).tensors, null, {} as never);
    const flags: ParsedFlags = { weights: run.dir };
    const r = await resolveWeightsFlag(flags, io);
    expect(flags.weights).toBe(r!.path);
    expect(flags.weights).toMatch(/checkpoints\/best-step0*7\.safetensors$/);
    expect(flags.variant).toBe('mobilevit_xs');
  });

  it('a zoo name: pulled into --workspace with a progress line, then the cached file and the zoo variant', async () => {
    lines = [];
    const flags: ParsedFlags = { weights: 'mobilevit_xxs', workspace: ws };
    const r = await resolveWeightsFlag(flags, io);
    expect(r!.entry!.repo).toBe('timm/mobilevit_xxs.cvnets_in1k');
    expect(flags.variant).toBe('mobilevit_xxs');
    expect(flags.weights).toBe(join(ws, 'models', 'timm', 'mobilevit_xxs.cvnets_in1k', 'main', 'model.studio.safetensors'));
    expect(lines.join('\n')).toMatch(/100 %/);
    expect(lines.join('\n')).toMatch(/pulled timm\/mobilevit_xxs.cvnets_in1k@main/);
    // An explicit --variant is kept (the loader then says whether the file fits it).
    const again: ParsedFlags = { weights: 'timm/mobilevit_xxs.cvnets_in1k', workspace: ws, variant: 'mobilevit_s' };
    await resolveWeightsFlag(again, io);
    expect(again.variant).toBe('mobilevit_s');
  });
});
