// `train` refuses settings that could never train before it makes a run folder (issue 24 item 4): a dataset of one
// class, RandAugment with colour jitter (timm's recipe has one or the other), a size below the model's minimum,
// each in one line whose range is the contract's schema's (--image-size: 32 to 1024), and the workspace keeps no
// failed run.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../engine/fixtures/studio.ts';
import { runCli as cli } from '../helpers/cli.ts';
import { makeDataset } from '../helpers/dataset.ts';

const tmp = tempDir('train-preflight-');
const workspace = join(tmp.dir, 'workspace');
let one: string;
let two: string;
beforeAll(async () => {
  one = (await makeDataset(join(tmp.dir, 'one'), { classes: 1, perClass: 2, size: 32 })).root;
  two = (await makeDataset(join(tmp.dir, 'two'), { classes: 2, perClass: 2, size: 32 })).root;
});
afterAll(() => tmp.remove());

describe('train before its run folder exists', () => {
  it.each([
    ['one class', () => ['--data', one], 1, /^mobilevit-studio train: dataset .* cannot be used: need at least two class folders, found only .*class_0$/],
    ['RandAugment with colour jitter', () => ['--data', two, '--rand-augment', '--color-jitter', '0.2'], 2,
      /^mobilevit-studio train: training settings: augmentation\.colorJitter must be 0 with augmentation\.randAugment \(timm's recipe uses one or the other\)$/],
    ['a size below the minimum', () => ['--data', two, '--image-size', '16'], 2, /^mobilevit-studio train: --image-size must be a whole number from 32 to 1024, got "16"$/],
    ['a multi-scale set below the minimum', () => ['--data', two, '--image-size', '32', '--multi-scale'], 2,
      /^mobilevit-studio train: training settings: the multi-scale sampler around 32 px would train at \d+ px, below the model's 32 px minimum$/],
  ] as const)('refuses %s in one line and leaves no run', async (_what, args, code, message) => {
    const r = await cli('train', ...args(), '--epochs', '1', '--workspace', workspace, '--backend', 'wasm');
    expect(r.code).toBe(code);
    expect(r.err.filter((l) => !l.startsWith('backend:'))).toEqual([expect.stringMatching(message)]);
    expect(existsSync(join(workspace, 'runs')) ? readdirSync(join(workspace, 'runs')) : []).toEqual([]);
  });
});
