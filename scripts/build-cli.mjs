// Compiles the CLI (src/, file by file, the source layout kept) to JavaScript in dist-cli/ (or [outDir]), so that
// `mobilevit-studio` starts without transpiling TypeScript on every call (bin/mobilevit-studio.mjs runs it):
//   node scripts/build-cli.mjs [outDir]
// Each file is transpiled on its own (TypeScript's transpileModule, no type check: `npm run typecheck` does that),
// which is what tsx does at run time too, so the source already compiles this way; `.ts` import paths become
// `.js`. JSON files under src/ are copied beside. src/build/outputs.ts builds it on first use, when stale.
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ts = await import('typescript').then((m) => m.default, () => {
  console.error('typescript is not installed (a development dependency): run `npm install`');
  process.exit(1);
});

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = process.argv[2] ?? join(root, 'dist-cli');

const compilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  rewriteRelativeImportExtensions: true,
  verbatimModuleSyntax: false,
  sourceMap: false,
};

/** Every file under `dir`, relative to the root. */
function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(relative(root, p));
  }
  return out;
}

for (const file of walk(join(root, 'src'))) {
  const dest = join(outDir, file);
  if (file.endsWith('.json')) {
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(join(root, file), dest);
  } else if (file.endsWith('.ts') && !file.endsWith('.d.ts')) {
    const { outputText, diagnostics } = ts.transpileModule(readFileSync(join(root, file), 'utf8'), { compilerOptions, fileName: file, reportDiagnostics: true });
    if (diagnostics?.length) {
      const d = diagnostics[0];
      console.error(`${file}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      process.exit(1);
    }
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest.replace(/\.ts$/, '.js'), outputText);
  }
}
