// A detection run's --weights (src/train/detection-init.ts): a classifier's backbone goes into the detector's
// backbone and nothing else; a detection checkpoint loads whole, its class layers kept for the same labels and
// drawn afresh for others or another class count.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { createModel } from '../../src/model/model.ts';
import { writeSafetensors } from '../../src/model/safetensors.ts';
import { stateDict } from '../../src/model/weights.ts';
import { initDetector } from '../../src/train/detection-init.ts';

beforeAll(async () => { await initBackend('wasm'); });

const dir = mkdtempSync(join(tmpdir(), 'detinit-'));
const same = (a: DetectionModel | ReturnType<typeof createModel>, b: DetectionModel, key: string) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a.params.get(key)!.variable, b.params.get(key)!.variable))).dataSync()[0]) === 0;
const STEM = 'stem.conv.weight';
const EXTRA = 'extra_layers.os_64.pw_conv.block.conv.weight';
const CLASS_LAYER = 'ssd_heads.0.loc_cls_layer.pw_conv.block.conv.weight';

describe('initDetector', () => {
  it('takes a classifier\'s backbone only: the extra layers and heads stay as the seed drew them', () => {
    const classifier = createModel('mobilevit_xxs', { numClasses: 10, seed: 7 });
    const file = join(dir, 'classifier.safetensors');
    writeSafetensors(file, stateDict(classifier));
    const [model, fresh] = [new DetectionModel('ssdlite_mobilevit_xxs', 3, 0), new DetectionModel('ssdlite_mobilevit_xxs', 3, 0)];
    expect(same(classifier, model, STEM)).toBe(false);
    const notes = initDetector(model, 'mobilevit_xxs', file, ['a', 'b']);
    expect(notes.join('\n')).toMatch(/backbone initialised from the mobilevit_xxs classifier .*classifier\.safetensors \(\d+ tensors\)/);
    expect(same(classifier, model, STEM)).toBe(true);
    expect(same(classifier, model, 'stages.4.1.transformer.0.attn.qkv.weight')).toBe(true);
    expect(same(fresh, model, EXTRA)).toBe(true);
    expect(same(fresh, model, CLASS_LAYER)).toBe(true);
    for (const m of [classifier, model, fresh]) m.dispose();
  });

  it('loads a detection checkpoint whole, keeping its class layers for the same labels only', () => {
    const source = new DetectionModel('ssdlite_mobilevit_xxs', 3, 5);
    const file = join(dir, 'detector.safetensors');
    writeSafetensors(file, stateDict(source), { labels: JSON.stringify(['a', 'b']) });
    const kept = new DetectionModel('ssdlite_mobilevit_xxs', 3, 0);
    expect(initDetector(kept, 'mobilevit_xxs', file, ['a', 'b']).join('\n')).toMatch(/class layers kept: they predict this dataset's 2 classes/);
    expect(same(source, kept, CLASS_LAYER) && same(source, kept, EXTRA) && same(source, kept, STEM)).toBe(true);
    const relabelled = new DetectionModel('ssdlite_mobilevit_xxs', 3, 0);
    expect(initDetector(relabelled, 'mobilevit_xxs', file, ['b', 'a']).join('\n')).toMatch(/drawn afresh: its labels \(a, b\) are not this dataset's/);
    expect(same(source, relabelled, EXTRA)).toBe(true);
    expect(same(source, relabelled, CLASS_LAYER)).toBe(false);
    const more = new DetectionModel('ssdlite_mobilevit_xxs', 4, 0);
    expect(initDetector(more, 'mobilevit_xxs', file, ['a', 'b', 'c']).join('\n')).toMatch(/another number of classes and are drawn afresh/);
    expect(same(source, more, EXTRA)).toBe(true);
    for (const m of [source, kept, relabelled, more]) m.dispose();
  });

  it('refuses a classifier of another backbone in words naming the file', () => {
    const classifier = createModel('mobilevit_xs', { numClasses: 10 });
    const file = join(dir, 'xs.safetensors');
    writeSafetensors(file, stateDict(classifier));
    const model = new DetectionModel('ssdlite_mobilevit_xxs', 3, 0);
    expect(() => initDetector(model, 'mobilevit_xxs', file, ['a', 'b'])).toThrow(/xs\.safetensors does not fit mobilevit_xxs/);
    for (const m of [classifier, model]) m.dispose();
  });
});
