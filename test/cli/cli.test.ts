// The CLI as a user runs it: a real process, one clear line on stderr and a non-zero exit on bad input.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/model/safetensors.ts';
import { fixture, maxAbsDiff } from '../helpers/fixtures.ts';

const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', ['bin/mobilevit-studio.mjs', ...args], { env: { ...process.env, MOBILEVIT_BACKEND: 'wasm' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
};
const tmp = () => mkdtempSync(join(tmpdir(), 'mvit-cli-'));
const W10 = fixture('mobilevit_xxs_256_b2_c10.weights.safetensors');

describe('mobilevit-studio CLI', () => {
  it('info --json gives exact parameters and per-block MACs and shapes', async () => {
    const r = await run('info', '--variant', 'mobilevit_xxs', '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.params).toBe(1_272_024);
    expect(info.blocks.map((b: { name: string }) => b.name)).toContain('stages.2.1');
    expect(info.blocks.at(-1)).toMatchObject({ name: 'head', kind: 'head', output: [1, 1000] });
    expect(info.blocks.reduce((a: number, b: { params: number }) => a + b.params, 0)).toBe(info.params);
    // timm's model card reports 0.4 GMACs for XXS at 256 px.
    expect(info.macs / 1e9).toBeGreaterThan(0.38);
    expect(info.macs / 1e9).toBeLessThan(0.42);
    expect(r.stderr).toMatch(/backend: wasm/);
  });

  it('info --json for MobileNetV2 at 224 px: 3,504,872 parameters, about 300 M MACs', async () => {
    const r = await run('info', '--variant', 'mobilenet_v2', '--image-size', '224', '--json');
    const info = JSON.parse(r.stdout);
    expect(info.params).toBe(3_504_872);
    expect(info.macs / 1e6).toBeGreaterThan(297);
    expect(info.macs / 1e6).toBeLessThan(304);
  });

  it('forward writes logits matching timm within 1e-4', async () => {
    const out = join(tmp(), 'out.safetensors');
    const r = await run('forward', '--variant', 'mobilevit_xxs', '--num-classes', '10', '--weights', W10,
      '--input', fixture('mobilevit_xxs_256_b2_c10.io.safetensors'), '--output', out);
    expect(r.code, r.stderr).toBe(0);
    const logits = readSafetensors(out).tensors.get('logits')!;
    const ref = readSafetensors(fixture('mobilevit_xxs_256_b2_c10.io.safetensors')).tensors.get('logits')!;
    expect(logits.shape).toEqual([2, 10]);
    expect(maxAbsDiff(logits.data, ref.data)).toBeLessThan(1e-4);
  });

  it('predict prints the top-k with probabilities that sum to at most 1, labels from a file', async () => {
    const dir = tmp();
    const img = join(dir, 'photo one.jpg');
    await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 200, g: 40, b: 90 } } }).jpeg().toFile(img);
    writeFileSync(join(dir, 'labels.txt'), Array.from({ length: 10 }, (_, i) => `label-${i}`).join('\n'));
    const r = await run('predict', '--variant', 'xxs', '--weights', W10, '--image', img, '--labels', join(dir, 'labels.txt'), '--top', '3', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { top } = JSON.parse(r.stdout);
    expect(top).toHaveLength(3);
    expect(top[0].label).toMatch(/^label-\d$/);
    expect(top[0].probability).toBeGreaterThanOrEqual(top[1].probability);
    expect(top.reduce((a: number, p: { probability: number }) => a + p.probability, 0)).toBeLessThanOrEqual(1 + 1e-9);
  });

  it.each([
    [['info', '--variant', 'mobilevit_xxl'], /unknown --variant "mobilevit_xxl" \(expected one of mobilevit_xxs, .*ssdlite_mobilevit_s\)/],
    [['info', '--variant', 'xxs', '--colour', 'red'], /unknown flag --colour/],
    [['info', '--variant', 'xxs', '--image-size', 'big'], /--image-size must be a number/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['forward', '--variant', 'xxs', '--weights', '/nope/w.safetensors', '--input', '/nope/i.safetensors', '--output', '/tmp/o.safetensors'], /\/nope\/i\.safetensors: no such file/],
    [['forward', '--variant', 'mobilevit_s', '--weights', W10, '--input', fixture('mobilevit_xxs_256_b2_c10.io.safetensors'), '--output', '/tmp/o.safetensors'], /does not fit mobilevit_s .*looks like a mobilevit_xxs checkpoint/],
    [['predict', '--variant', 'xxs', '--weights', W10, '--image', W10], /cannot|unsupported|decode|image/i],
    [['predict', '--variant', 'xxs', '--weights', W10], /--image is required/],
  ])('%j fails with one clear line', async (args, message) => {
    const r = await run(...(args as string[]));
    expect(r.code).not.toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('backend:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
