// ONNX's own checker (full_check: shape inference too) accepts the export. Needs Debian's python3-onnx
// (apt-get install python3-onnx; .ci/run installs it); skipped, with a message, where it is missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../src/export/onnx.ts';
import { exportDetectionOnnx, exportSegmentationOnnx } from '../../src/export/onnx-dense.ts';
import { DetectionModel } from '../../src/model/detection.ts';
import { SegmentationModel } from '../../src/model/segmentation.ts';
import type { VariantName } from '../../src/model/index.ts';
import { randomModel } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
const CHECK = 'import onnx, sys\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\nprint("ok", onnx.__version__)';
const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
const available = probe.status === 0;
if (!available) console.warn('onnx-checker test skipped: python3-onnx is not installed (apt-get install -y python3-onnx)');

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe.skipIf(!available)('onnx.checker', () => {
  it('accepts every variant (opset 17), the Resize path, and opset 13', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-check-'));
    const cases: [VariantName, number, number][] = [
      ['mobilevit_xxs', 256, 17], ['mobilevit_xs', 200, 17], ['mobilevit_s', 72, 17], ['mobilenet_v2', 224, 17], ['mobilevit_xxs', 200, 13],
    ];
    const files = cases.map(([variant, size, opset]) => {
      const model = randomModel(variant, 4, 1);
      const file = join(dir, `${variant}-${size}-${opset}.onnx`);
      writeFileSync(file, exportOnnx(model, { imageSize: size, opset }));
      model.dispose();
      return file;
    });
    const r = spawnSync(PYTHON, ['-c', CHECK, ...files], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok /);
  }, 120_000);

  it('accepts DeepLabv3-MobileViT and SSDLite-MobileViT (raw outputs, and the post-processing in the graph), at opset 17 and 13', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-check-'));
    const seg = new SegmentationModel('deeplabv3_mobilevit_xxs', 3, 1);
    const det = new DetectionModel('ssdlite_mobilevit_xxs', 3, 1);
    const graphs: [string, Uint8Array][] = [
      ['seg.onnx', exportSegmentationOnnx(seg, { size: [64, 96] })],
      ['det.onnx', exportDetectionOnnx(det, { size: [96, 128] })],
      ['det-nms.onnx', exportDetectionOnnx(det, { size: [128, 128], postprocess: {} })],
      ['seg-13.onnx', exportSegmentationOnnx(seg, { size: [64, 64], opset: 13 })],
      ['det-nms-13.onnx', exportDetectionOnnx(det, { size: [64, 64], opset: 13, postprocess: {} })],
    ];
    seg.dispose();
    det.dispose();
    const files = graphs.map(([name, bytes]) => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    });
    const r = spawnSync(PYTHON, ['-c', CHECK, ...files], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('rejects a broken graph (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-check-'));
    const file = join(dir, 'broken.onnx');
    writeFileSync(file, Buffer.from('not an onnx model'));
    expect(spawnSync(PYTHON, ['-c', CHECK, file], { encoding: 'utf8' }).status).not.toBe(0);
  });
});
