// Chromium's sandbox (issue 22, hardening): headless Chromium runs without it only as root, where it cannot start
// one, and the log says so then; never as the default for anyone else.
import { describe, expect, it } from 'vitest';
import { chromiumArgs, sandboxNote } from '../../src/device/chromium.ts';

describe("the device browser's flags", () => {
  it('keep the sandbox for every user but root', () => {
    for (const uid of [1000, 1, 65534, null]) {
      expect(chromiumArgs(uid), `uid ${uid}`).not.toContain('--no-sandbox');
      expect(sandboxNote(uid), `uid ${uid}`).toBeNull();
    }
  });

  it('turn it off as root, and say so', () => {
    expect(chromiumArgs(0)).toContain('--no-sandbox');
    expect(sandboxNote(0)).toMatch(/^running as root: headless Chromium starts without its sandbox \(--no-sandbox\)/);
  });

  it('unlock WebGPU and keep a long GPU task from restarting the GPU process', () => {
    expect(chromiumArgs(1000)).toEqual(expect.arrayContaining(['--headless=new', '--enable-unsafe-webgpu', '--disable-gpu-watchdog']));
  });
});
