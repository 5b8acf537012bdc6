// The layering the design keeps, checked on every relative import in src/: a domain may import only
// the domains listed for it, the table itself allows no cycle (so the folders form layers), and no file
// reaches itself through its imports (runtime or type). The window's contract stays free of Node and TensorFlow.js.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** domain → the domains it may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  util: [],
  protocol: ['model', 'backend', 'util'], // shared lists and defaults only (checked below: no Node, no tfjs)
  model: ['util'],
  backend: ['build', 'util'],
  data: ['util', 'protocol'],
  run: ['model', 'protocol', 'util', 'zoo'], // zoo: the preprocessing of a converted zoo file (its row)
  optim: ['model', 'util'],
  train: ['data', 'device', 'export', 'model', 'optim', 'protocol', 'run', 'util', 'backend'], // export: a quick run's features on onnxruntime
  device: ['backend', 'build', 'inspect', 'model', 'optim', 'protocol', 'util'],
  inspect: ['data', 'model', 'protocol', 'util'],
  export: ['backend', 'data', 'inspect', 'model', 'protocol', 'run', 'util'],
  zoo: ['model', 'protocol', 'util'],
  engine: ['backend', 'data', 'device', 'export', 'inspect', 'model', 'protocol', 'run', 'train', 'util', 'zoo'],
  service: ['data', 'device', 'protocol', 'run', 'util', 'zoo'], // device: its speed file (Settings)
  server: ['protocol', 'service', 'util', 'build'],
  build: ['util'],
  cli: ['backend', 'build', 'data', 'device', 'engine', 'export', 'inspect', 'model', 'protocol', 'run', 'server', 'service', 'train', 'util', 'zoo'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative and package imports of a file; `runtime` leaves out `import type` (erased when compiled). */
function imports(file: string, runtime = false): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(import|export)(\s+type)?[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)|(?:^|\n)\s*import\s+'([^']+)'/g)]
    .filter((m) => !(runtime && m[2]))
    .map((m) => m[3] ?? m[4] ?? m[5]);
}

/**
 * The cycles of a directed graph, one per edge that closes a loop in a depth-first walk, each as the path
 * round it ("a → b → a"). No cycle is reported twice through the same closing edge; none means the graph is a DAG.
 */
function cyclesOf(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const found: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

describe('architecture', () => {
  it('every domain imports only the domains below it', () => {
    const wrong: string[] = [];
    for (const file of files(SRC)) {
      const domain = relative(SRC, file).split('/')[0];
      expect(ALLOWED[domain], `src/${domain} is not in the layering table`).toBeDefined();
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(SRC, resolve(dirname(file), spec)).split('/')[0];
        if (target !== domain && !ALLOWED[domain].includes(target)) wrong.push(`${relative(SRC, file)} → ${spec}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the layering table allows no cycle: no two domains may import each other, directly or round a longer loop', () => {
    expect(cyclesOf(new Map(Object.entries(ALLOWED)))).toEqual([]);
  });

  it('finds a cycle when there is one (so the checks around it can fail)', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []]]);
    expect(cyclesOf(graph)).toEqual(['a → b → c → a']);
    expect(cyclesOf(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
  });

  it('no file of src/ reaches itself through its imports, runtime or type', () => {
    const graph = new Map<string, string[]>();
    for (const file of files(SRC)) {
      const targets = imports(file).filter((spec) => spec.startsWith('.')).map((spec) => relative(SRC, resolve(dirname(file), spec)));
      graph.set(relative(SRC, file), targets);
    }
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('the contract, and what it imports, load without Node or TensorFlow.js', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of imports(file, true)) {
        expect(spec, `${relative(SRC, file)} imports ${spec}`).not.toMatch(/^node:|tensorflow|^sharp$|^ws$/);
        if (spec.startsWith('.') && !spec.endsWith('names.ts')) visit(resolve(dirname(file), spec));
      }
    };
    visit(join(SRC, 'protocol', 'contract.ts'));
    visit(join(SRC, 'protocol', 'client.ts'));
    expect(seen.size).toBeGreaterThan(3);
  });
});
