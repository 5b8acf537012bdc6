// A segmentation run's start from --weights. A classifier's weights file: every backbone tensor is the classifier's,
// the ASPP and the classifier conv keep their seeded start; a file that does not fit is refused naming the file. A
// segmentation checkpoint: loaded whole, its classifier conv kept when its labels are the dataset's, drawn from the
// run's seed when they differ, are another number or are not recorded.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/model/index.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { initSegmentation } from '../../src/train/segmentation-init.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

const bytes = (v: tf.Variable) => Buffer.from((v.dataSync() as Float32Array).buffer);

const LABELS = ['background', 'leaf', 'stem'];

describe('initSegmentation', () => {
  it('takes every backbone tensor from the classifier and leaves the head as seeded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seg-init-'));
    const classifier = createModel('mobilevit_xxs', { numClasses: 5, seed: 11 });
    saveWeights(classifier, join(dir, 'c.safetensors'));
    const seg = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 2);
    const twin = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 2);
    const note = initSegmentation(seg, join(dir, 'c.safetensors'), 'mobilevit_xxs', LABELS);
    expect(note).toMatch(/backbone initialised from .*c\.safetensors \(\d+ tensors of its mobilevit_xxs classifier\)/);
    let backbone = 0;
    for (const [key, p] of seg.params) {
      if (key.startsWith('segmentation_head.')) expect(bytes(p.variable).equals(bytes(twin.params.get(key)!.variable)), key).toBe(true);
      else {
        backbone++;
        expect(bytes(p.variable).equals(bytes(classifier.params.get(key)!.variable)), key).toBe(true);
      }
    }
    expect(note).toContain(`(${backbone} tensors`);
    // Another backbone's classifier does not fit.
    expect(() => initSegmentation(seg, join(dir, 'c.safetensors'), 'mobilevit_xs', LABELS)).toThrow(/c\.safetensors/);
    for (const m of [classifier, seg, twin]) m.dispose();
  });

  it('loads a segmentation checkpoint whole: its classifier conv kept for the same labels, drawn from the seed for others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seg-init-'));
    const trained = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 2);
    // As training leaves it: every tensor moved off any start (BatchNorm's ones and zeros included).
    for (const p of trained.params.values()) tf.tidy(() => p.variable.assign(p.variable.add(0.25)));
    const file = (name: string, metadata: Record<string, string>) => {
      saveWeights(trained, join(dir, name), metadata);
      return join(dir, name);
    };
    const withLabels = file('same.safetensors', { labels: JSON.stringify(LABELS) });
    const otherLabels = file('other.safetensors', { labels: JSON.stringify(['background', 'cat', 'dog']) });
    const noLabels = file('none.safetensors', {});
    /** A run's network (seed 5) started from `path` for `labels`: its note, and per tensor whether it is the checkpoint's or the seed's. */
    const start = (path: string, labels: string[]) => {
      const seg = new SegmentationModel('deeplabv3_mobilevit_xxs', labels.length, 5);
      const seeded = new SegmentationModel('deeplabv3_mobilevit_xxs', labels.length, 5);
      const note = initSegmentation(seg, path, 'mobilevit_xxs', labels);
      const from = new Map<string, 'checkpoint' | 'seed'>();
      for (const [key, p] of seg.params) {
        const fromFile = trained.params.get(key)!.variable.shape.join() === p.variable.shape.join() && bytes(p.variable).equals(bytes(trained.params.get(key)!.variable));
        const fromSeed = bytes(p.variable).equals(bytes(seeded.params.get(key)!.variable));
        expect(fromFile !== fromSeed, key).toBe(true);
        from.set(key, fromFile ? 'checkpoint' : 'seed');
      }
      const head = seg.headKeys;
      seg.dispose();
      seeded.dispose();
      const sources = (keys: string[]) => [...new Set(keys.map((k) => from.get(k)))];
      return { note, head: sources(head), rest: sources([...from.keys()].filter((k) => !head.includes(k))) };
    };
    const same = start(withLabels, LABELS);
    expect(same).toEqual({ note: expect.stringMatching(/same\.safetensors, its classifier conv kept: it predicts this dataset's 3 classes/), head: ['checkpoint'], rest: ['checkpoint'] });
    const other = start(otherLabels, LABELS);
    expect(other).toEqual({ note: expect.stringMatching(/its classifier conv is drawn from the run's seed: its labels \(background, cat, dog\) are not this dataset's/), head: ['seed'], rest: ['checkpoint'] });
    expect(start(noLabels, LABELS)).toMatchObject({ note: expect.stringMatching(/it records no labels/), head: ['seed'], rest: ['checkpoint'] });
    const more = start(withLabels, [...LABELS, 'flower']);
    expect(more).toEqual({ note: expect.stringMatching(/predicts another number of classes and is drawn from the run's seed/), head: ['seed'], rest: ['checkpoint'] });
    trained.dispose();
  });
});
