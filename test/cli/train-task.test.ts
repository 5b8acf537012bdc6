// `train` on a folder of images and masks: the task comes from the folder (or a DeepLabv3 --variant, or --task),
// the run says so in one line, and a folder no task can train, or one its task cannot train, is refused
// before a run folder exists.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRun } from '../../src/run/index.ts';
import { tempDir } from '../engine/fixtures/studio.ts';
import { runCli as cli } from '../helpers/cli.ts';
import { makeSegmentationDataset } from '../helpers/segmentation-dataset.ts';

const tmp = tempDir('train-task-');
const workspace = join(tmp.dir, 'workspace');
const runs = () => (existsSync(join(workspace, 'runs')) ? readdirSync(join(workspace, 'runs')) : []);
let masks: string;
beforeAll(async () => {
  masks = join(tmp.dir, 'masks');
  await makeSegmentationDataset(masks, { layout: 'images-masks', count: 6, classes: 3, size: 40 });
});
afterAll(() => tmp.remove());

describe('train on a segmentation folder', () => {
  it('trains DeepLabv3 on the backbone a DeepLabv3 --variant names, saying the task', async () => {
    const dir = join(tmp.dir, 'seg-run');
    const r = await cli('train', '--data', masks, '--variant', 'deeplabv3-xxs', '--image-size', '64', '--epochs', '1', '--batch-size', '8', '--run-dir', dir, '--backend', 'wasm');
    expect(r.code).toBe(0);
    expect(r.err).toContain('task: segmentation');
    expect(readRun(dir).settings).toMatchObject({ task: 'segmentation', variant: 'mobilevit_xxs' });
  }, 120_000);

  it.each([
    ['a YOLO folder without names or images', () => {
      const root = join(tmp.dir, 'yolo');
      mkdirSync(join(root, 'images'), { recursive: true });
      mkdirSync(join(root, 'labels'), { recursive: true });
      return ['--data', root];
    }, /cannot be used for detection: .*has no data\.yaml or classes\.txt naming the classes; no usable training image/],
    ['a segmentation folder without a pair', () => {
      const root = join(tmp.dir, 'empty-masks');
      mkdirSync(join(root, 'images'), { recursive: true });
      mkdirSync(join(root, 'masks'), { recursive: true });
      writeFileSync(join(root, 'masks', 'lonely.png'), 'not a png');
      return ['--data', root];
    }, /cannot be used for segmentation: no usable image-and-mask pair for training/],
    ['a DeepLabv3 variant with --task classification', () => ['--data', masks, '--variant', 'deeplabv3_mobilevit_xxs', '--task', 'classification'],
      /--variant deeplabv3_mobilevit_xxs is a segmentation network, not --task classification/],
  ] as const)('refuses %s in words and leaves no run', async (_what, args, message) => {
    const r = await cli('train', ...args(), '--epochs', '1', '--workspace', workspace, '--backend', 'wasm');
    expect(r.code).not.toBe(0);
    expect(r.err.join('\n')).toMatch(message);
    expect(runs()).toEqual([]);
  });
});
