// The build-on-demand that `npm start`, `serve` and the e2e tests share: when an output counts as stale, and a
// build that swaps its folder in whole, on a throwaway root with a stand-in build tool.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appRoot, ensureBuilt, needsBuild, newestMtime, RENDERER, type BuildTarget } from '../../src/build/outputs.ts';
import { tempDir } from '../engine/fixtures/studio.ts';

let tmp: { dir: string; remove(): void } | undefined;
afterEach(() => tmp?.remove());

/** A root with sources in src/ and a build tool that writes out/index.html from them (exit 3 on "fail"). */
function fixture(): { root: string; target: BuildTarget } {
  tmp = tempDir('outputs-test-');
  const root = tmp.dir;
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src', 'a.txt'), 'one');
  writeFileSync(
    join(root, 'tool.mjs'),
    `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const src = readFileSync('src/a.txt', 'utf8');
if (src === 'fail') { console.error('tool: cannot build "fail"'); process.exit(3); }
const out = process.argv[2];
mkdirSync(out, { recursive: true });
writeFileSync(out + '/index.html', 'built from ' + src);
console.log('tool output line');`,
  );
  const target: BuildTarget = {
    label: 'building the test output',
    output: 'out/index.html',
    sources: ['src'],
    command: (outDir) => ['tool.mjs', outDir ?? join(root, 'out')],
    swapDir: 'out',
  };
  return { root, target };
}

const setMtime = (p: string, ms: number): void => utimesSync(p, ms / 1000, ms / 1000);

describe('build outputs', () => {
  it('the renderer target names the folder the server serves and what it is built from', () => {
    expect(RENDERER.output).toBe('dist-renderer/index.html');
    expect(RENDERER.swapDir).toBe('dist-renderer');
    expect(RENDERER.sources).toEqual(expect.arrayContaining(['renderer', 'src/protocol', 'vite.config.ts']));
  });

  it('newestMtime walks folders and ignores paths that do not exist', () => {
    const { root } = fixture();
    mkdirSync(join(root, 'src', 'deep'));
    writeFileSync(join(root, 'src', 'deep', 'b.txt'), 'two');
    setMtime(join(root, 'src', 'a.txt'), 1_000_000);
    setMtime(join(root, 'src', 'deep', 'b.txt'), 2_000_000);
    expect(newestMtime([join(root, 'src'), join(root, 'nope')])).toBe(2_000_000);
    expect(newestMtime([join(root, 'nope')])).toBe(0);
  });

  it('builds a missing output, skips a fresh one, rebuilds when a source is newer, and logs progress', async () => {
    const { root, target } = fixture();
    expect(needsBuild(target, root)).toBe('missing');
    const log: string[] = [];
    const tool: string[] = [];
    expect(await ensureBuilt(target, { root, log: (l) => log.push(l), toolOutput: (c) => tool.push(c) })).toBe(true);
    expect(readFileSync(join(root, 'out', 'index.html'), 'utf8')).toBe('built from one');
    expect(log[0]).toBe('building the test output: out/index.html is missing…');
    expect(log[1]).toMatch(/^building the test output: done in \d+\.\d s$/);
    expect(tool.join('')).toContain('tool output line');
    expect(needsBuild(target, root)).toBeNull();
    expect(await ensureBuilt(target, { root, log: (l) => log.push(l) })).toBe(false);
    expect(log).toHaveLength(2);

    writeFileSync(join(root, 'src', 'a.txt'), 'two');
    setMtime(join(root, 'src', 'a.txt'), Date.now() + 5_000);
    expect(needsBuild(target, root)).toBe('stale');
    expect(await ensureBuilt(target, { root, log: (l) => log.push(l), toolOutput: () => {} })).toBe(true);
    expect(log[2]).toContain('is stale');
    expect(readFileSync(join(root, 'out', 'index.html'), 'utf8')).toBe('built from two');
  });

  it('stamps the output with the build start, so an edit made during the build still counts as newer', async () => {
    const { root, target } = fixture();
    const before = Date.now();
    await ensureBuilt(target, { root, log: () => {}, toolOutput: () => {} });
    const stamped = statSync(join(root, 'out', 'index.html')).mtimeMs;
    expect(stamped).toBeGreaterThanOrEqual(before - 1);
    setMtime(join(root, 'src', 'a.txt'), stamped + 1);
    expect(needsBuild(target, root)).toBe('stale');
  });

  it('builds aside and swaps the folder in whole: stale files of the old build do not survive, no leftovers', async () => {
    const { root, target } = fixture();
    mkdirSync(join(root, 'out'));
    writeFileSync(join(root, 'out', 'index.html'), 'old');
    writeFileSync(join(root, 'out', 'old-asset.js'), 'old');
    setMtime(join(root, 'out', 'index.html'), 1_000_000);
    await ensureBuilt(target, { root, log: () => {}, toolOutput: () => {} });
    expect(existsSync(join(root, 'out', 'old-asset.js'))).toBe(false);
    expect(readdirSync(root).sort()).toEqual(['out', 'src', 'tool.mjs']);
  });

  it('a failing build throws with the tool’s last line and leaves the previous output in place', async () => {
    const { root, target } = fixture();
    await ensureBuilt(target, { root, log: () => {}, toolOutput: () => {} });
    writeFileSync(join(root, 'src', 'a.txt'), 'fail');
    setMtime(join(root, 'src', 'a.txt'), Date.now() + 5_000);
    await expect(ensureBuilt(target, { root, log: () => {}, toolOutput: () => {} })).rejects.toThrow(
      /`node tool\.mjs .*` failed \(exit 3\): tool: cannot build "fail"/,
    );
    expect(readFileSync(join(root, 'out', 'index.html'), 'utf8')).toBe('built from one');
  });

  it('says to run npm install when the build tool is not installed', async () => {
    const { root, target } = fixture();
    const missing: BuildTarget = { ...target, command: () => ['node_modules/vite/bin/vite.js', 'build'] };
    await expect(ensureBuilt(missing, { root, log: () => {} })).rejects.toThrow(
      'out/index.html is missing and node_modules/vite/bin/vite.js is not installed (a development dependency): run `npm install`',
    );
  });
});

describe('the root the built folders are found from', () => {
  it('is the checkout from src/build/, and the folder beside dist-electron/ when compiled into it (Electron, the packaged app)', () => {
    expect(appRoot('/home/me/studio/')).toBe('/home/me/studio');
    expect(appRoot('/home/me/studio/dist-electron/')).toBe('/home/me/studio');
    expect(appRoot('/opt/MobileViT Studio/resources/app.asar/dist-electron')).toBe('/opt/MobileViT Studio/resources/app.asar');
  });
});
