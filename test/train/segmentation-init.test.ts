// A segmentation run's backbone from a classifier's weights file: every backbone tensor is the classifier's, the
// ASPP and the classifier conv keep their seeded start; a file that does not fit, or a segmentation checkpoint,
// is refused naming the file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/model/index.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import { saveWeights } from '../../src/model/weights-file.ts';
import { initBackbone } from '../../src/train/segmentation-init.ts';

beforeAll(async () => { await tf.setBackend('cpu'); });

const bytes = (v: tf.Variable) => Buffer.from((v.dataSync() as Float32Array).buffer);

describe('initBackbone', () => {
  it('takes every backbone tensor from the classifier and leaves the head as seeded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seg-init-'));
    const classifier = createModel('mobilevit_xxs', { numClasses: 5, seed: 11 });
    saveWeights(classifier, join(dir, 'c.safetensors'));
    const seg = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 2);
    const twin = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 2);
    const note = initBackbone(seg, join(dir, 'c.safetensors'), 'mobilevit_xxs');
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
    // Another backbone's classifier does not fit; a segmentation checkpoint is not a start yet.
    expect(() => initBackbone(seg, join(dir, 'c.safetensors'), 'mobilevit_xs')).toThrow(/c\.safetensors/);
    saveWeights(twin, join(dir, 's.safetensors'));
    expect(() => initBackbone(seg, join(dir, 's.safetensors'), 'mobilevit_xxs')).toThrow(/s\.safetensors is a segmentation checkpoint: starting a segmentation run from one is not implemented yet/);
    for (const m of [classifier, seg, twin]) m.dispose();
  });
});
