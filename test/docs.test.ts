// The README and docs/ pages: every relative link and image resolves inside the repository, nothing points
// outside it (a fresh clone has no ../shared), and the README stays a front page.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Relative targets of markdown links and images in `text` (URLs and in-page anchors left out). */
function relativeLinks(text: string): string[] {
  const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
  return targets.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#')).map((t) => t.split('#')[0]!);
}

describe('documentation', () => {
  it.each(pages)('%s links only to files inside the repository that exist', (page) => {
    const text = readFileSync(join(root, page), 'utf8');
    for (const target of relativeLinks(text)) {
      const file = resolve(root, dirname(page), target);
      expect(relative(root, file).startsWith('..'), `${page} -> ${target} leaves the repository`).toBe(false);
      expect(existsSync(file), `${page} -> ${target} does not exist`).toBe(true);
    }
    expect(text, `${page} names a path outside the repository`).not.toMatch(/\.\.\/shared\//);
  });

  it('the README starts with the install-and-launch and test commands and stays short', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const firstBlock = readme.slice(readme.indexOf('```bash'), readme.indexOf('```', readme.indexOf('```bash') + 3));
    expect(firstBlock).toContain('npm install && npm start');
    expect(firstBlock).toContain('npm test');
    expect(readme.split('\n').length).toBeLessThan(150);
  });

  it('every docs page is linked from the README', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const page of pages.filter((p) => p.startsWith('docs/'))) expect(readme).toContain(`](${page})`);
  });
});
