// run.json records the studio's version from the source tree and from the packaged layout alike
// (dist-electron/src/util/ sits one level deeper than src/util/).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appVersion } from '../../src/util/version.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

describe('appVersion', () => {
  it('finds the package from src/util and from the compiled dist-electron/src/util', () => {
    expect(appVersion()).toBe(VERSION);
    expect(appVersion(join(ROOT, 'dist-electron', 'src', 'util'))).toBe(VERSION);
  });

  it('skips package.json files that are not the studio’s, and says unknown when there is none', () => {
    const app = mkdtempSync(join(tmpdir(), 'packaged-'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'mobilevit-studio', version: '9.8.7' }));
    const inner = join(app, 'dist-electron', 'src', 'util');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(app, 'dist-electron', 'package.json'), JSON.stringify({ type: 'module' }));
    expect(appVersion(inner)).toBe('9.8.7');
    expect(appVersion(mkdtempSync(join(tmpdir(), 'nowhere-')))).toBe('unknown');
  });
});
