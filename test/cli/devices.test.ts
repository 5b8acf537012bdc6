// `mobilevit-studio devices` as a user runs it, on a machine without Chromium (CHROMIUM_PATH names nothing):
// the page devices say why they did not start, --measure times the in-process one and keeps the table, and a
// plain listing then reads it from the file.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { RUNTIMES_FILE, runtimeKey } from '../../src/device/runtime-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'mvit-devices-'));
const file = join(dir, 'device-speeds.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const devices = async (...args: string[]) => {
  const env = { ...process.env, MOBILEVIT_BACKEND: 'wasm', CHROMIUM_PATH: join(dir, 'no-chromium') };
  const { stdout, stderr } = await promisify(execFile)('node', ['bin/mobilevit-studio.mjs', 'devices', '--image-size', '32', '--file', file, ...args], { env });
  return { stdout, stderr };
};

describe('mobilevit-studio devices', () => {
  it('lists what starts, measures on request, and reads the measurement back', async () => {
    const listed = JSON.parse((await devices('--json')).stdout);
    // wasm-workers is offered where there is more than one core (CI's machines have two).
    const workers = availableParallelism() > 1;
    expect(listed.rows.map((r: { device: string }) => r.device)).toEqual(['wasm', ...(workers ? ['wasm-workers'] : []), 'webgpu', 'webgl', 'wasm-threads']);
    expect(listed.rows.at(-3)).toMatchObject({ host: null, imagesPerSecond: null, note: expect.stringMatching(/^did not start: CHROMIUM_PATH is .*no-chromium, which does not exist/) });
    expect(listed.rows[0]).toMatchObject({ host: 'this process', imagesPerSecond: null });
    if (workers) expect(listed.rows[1]).toMatchObject({ host: `${availableParallelism()} worker threads of this process`, imagesPerSecond: null });
    expect(() => readFileSync(file)).toThrow(); // a listing stores nothing
    expect(listed.inferenceRuntimes).toEqual({ file: join(dir, RUNTIMES_FILE), kept: [] });

    const measured = await devices('--measure');
    const n = workers ? 2 : 1;
    expect(measured.stderr).toMatch(new RegExp(`measuring wasm \\(1 of ${n}\\)`));
    if (workers) expect(measured.stderr).toMatch(/measuring wasm-workers \(2 of 2\)/);
    expect(measured.stdout).toMatch(/^wasm +this process +— +\d+\.\d images\/s/m);
    // Which one wins depends on this machine's load; that one of them does, and says why, does not.
    expect(measured.stdout).toMatch(/auto takes (wasm|wasm-workers): /);

    const again = JSON.parse((await devices('--json')).stdout);
    expect(again.cached).toBe(true);
    expect(again.rows[0].imagesPerSecond).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).entries).toHaveLength(1);
    expect(measured.stdout).toMatch(/inference runtimes \(quick fine-tune features, eval, predict\): none measured yet/);
  });

  it("shows where inference-mode work computes on this machine (the choice a quick run kept)", async () => {
    const entry = { key: runtimeKey('mobilevit_xxs', 224, 'wasm'), runtime: 'onnxruntime', msPerImage: { tfjs: 40, onnxruntime: 9 }, reason: 'measured faster: 9.0 ms/image on onnxruntime, 40.0 on TF.js', measuredAt: 1 };
    const other = { ...entry, key: entry.key.replace('"cores":', '"cores":1000') }; // another machine's: not shown
    writeFileSync(join(dir, RUNTIMES_FILE), JSON.stringify({ format: 1, entries: [entry, other] }));
    const { stdout } = await devices();
    expect(stdout).toContain('inference runtimes (quick fine-tune features, eval, predict):\n  mobilevit_xxs at 224 px beside wasm: onnxruntime (measured faster: 9.0 ms/image on onnxruntime, 40.0 on TF.js)');
    expect(JSON.parse((await devices('--json')).stdout).inferenceRuntimes.kept).toHaveLength(1);
  });
});
