// Compiles the studio's own WebAssembly SIMD kernels (src/backend/kernels/*.c) into one module,
// dist-kernels/kernels.wasm (or [outDir]/kernels.wasm), with Debian's clang + lld (wasm32 target):
//   node scripts/build-kernels.mjs [outDir]
// The module imports TF.js's wasm memory and must hold no data or stack of its own (see the sources);
// src/backend/wasm-simd-kernels.ts checks that before using it. CLANG overrides the compiler.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const srcDir = join(root, 'src', 'backend', 'kernels');
const outDir = process.argv[2] ?? join(root, 'dist-kernels');
const clang = process.env.CLANG || 'clang';
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.c')).sort().map((f) => join(srcDir, f));
mkdirSync(outDir, { recursive: true });
const args = [
  '--target=wasm32', '-O3', '-msimd128', '-nostdlib', '-fno-builtin', '-ffp-contract=off',
  '-Wall', '-Werror',
  '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,-z,stack-size=0', '-Wl,--strip-debug',
  '-o', join(outDir, 'kernels.wasm'), ...sources,
];
const r = spawnSync(clang, args, { stdio: 'inherit' });
if (r.error) {
  console.error(`${clang} could not run (${r.error.code ?? r.error.message}): install clang and lld (Debian: apt-get install clang lld)`);
  process.exit(1);
}
if (r.status !== 0) process.exit(r.status ?? 1);

// The module shares TF.js's memory: code that touched its own stack (the __stack_pointer global, at address 0
// with no stack reserved) would write over TF.js's data. Refuse a build whose code reads or writes any global.
const objdump = process.env.LLVM_OBJDUMP || 'llvm-objdump';
// The listing passed Node's default 1 MiB output limit (ENOBUFS) once the module grew past ~50 KB.
const dis = spawnSync(objdump, ['-d', join(outDir, 'kernels.wasm')], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
if (dis.error || dis.status !== 0) {
  console.error(`${objdump} could not disassemble the kernels (${dis.error?.code ?? dis.stderr}): it comes with clang's LLVM (Debian: apt-get install llvm)`);
  process.exit(1);
}
const uses = dis.stdout.split('\n').filter((l) => /\bglobal\.(get|set)\b/.test(l));
if (uses.length) {
  console.error(`the kernels use a stack of their own (${uses.length} global.get/set), which would overwrite TF.js's memory:\n${uses.slice(0, 5).join('\n')}`);
  process.exit(1);
}
