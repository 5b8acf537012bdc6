// `info` and `forward` on the segmentation and detection networks: parameter counts, and the references'
// outputs from their own checkpoints (transformers' DeepLabv3, ml-cvnets' SSDLite) through the command line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.ts';
import { fixture, maxAbsDiff } from '../helpers/fixtures.ts';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'dense-forward-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('info and forward on dense networks', () => {
  it('info prints the parameter count of a segmentation and a detection network, and names every network on a typo', async () => {
    const seg = await runCli('info', '--variant', 'deeplabv3_mobilevit_xs', '--num-classes', '21', '--json', '--image-size', '64');
    expect(seg.code).toBe(0);
    expect(JSON.parse(seg.out)).toMatchObject({ task: 'segmentation', params: 2_944_069 });
    const det = await runCli('info', '--variant', 'ssdlite_mobilevit_xxs', '--json', '--image-size', '64');
    expect(JSON.parse(det.out)).toMatchObject({ task: 'detection', num_classes: 81, params: 1_755_050 });
    const bad = await runCli('info', '--variant', 'deeplabv3_mobilevit_m');
    expect(bad.code).not.toBe(0);
    expect(bad.err.join('\n')).toMatch(/unknown --variant "deeplabv3_mobilevit_m" \(expected one of .*deeplabv3_mobilevit_xxs.*ssdlite_mobilevit_s\)/);
  });

  it('forward writes DeepLabv3 logits at 1/16 equal to transformers\' from its own checkpoint', async () => {
    const out = join(dir, 'seg.safetensors');
    const r = await runCli('forward', '--variant', 'deeplabv3_mobilevit_xxs', '--weights', fixture('seg/deeplabv3_mobilevit_xxs_256.weights.safetensors'),
      '--input', fixture('seg/deeplabv3_mobilevit_xxs_256.io.safetensors'), '--output', out, '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const got = readSafetensors(out).tensors.get('logits')!;
    const want = readSafetensors(fixture('seg/deeplabv3_mobilevit_xxs_256.io.safetensors')).tensors.get('logits_nhwc')!;
    expect(got.shape).toEqual([1, 16, 16, 21]);
    expect(maxAbsDiff(got.data, want.data)).toBeLessThan(1e-4);
  });

  it('forward writes SSDLite anchors, deltas, logits and ml-cvnets\' detections from its own checkpoint', async () => {
    const io = readSafetensors(fixture('det/ssd_mobilevit_xxs_320_b1.io.safetensors')).tensors;
    const input = join(dir, 'det-in.safetensors');
    writeSafetensors(input, new Map([['input_nhwc', io.get('input_nhwc')!]]));
    const out = join(dir, 'det.safetensors');
    const r = await runCli('forward', '--variant', 'ssdlite_mobilevit_xxs', '--weights', fixture('det/ssd_mobilevit_xxs_320_b1.weights.safetensors'),
      '--input', input, '--output', out, '--score-threshold', '0.5', '--backend', 'wasm');
    expect(r.code, r.err.join('\n')).toBe(0);
    const got = readSafetensors(out).tensors;
    expect(got.get('anchors')!.shape).toEqual([3232, 4]);
    expect(maxAbsDiff(got.get('anchors')!.data, io.get('anchors')!.data)).toBeLessThan(1e-6);
    expect(got.get('class_logits')!.shape).toEqual([1, 3232, 81]);
    expect(Array.from(got.get('det_labels')!.data)).toEqual(Array.from(io.get('det_labels')!.data));
    expect(maxAbsDiff(got.get('det_boxes')!.data, io.get('det_boxes')!.data)).toBeLessThan(1e-4);
    expect(new Set(got.get('det_image')!.data)).toEqual(new Set([0]));
  });
});
