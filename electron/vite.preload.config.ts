// Bundles the preload into one CommonJS file: a sandboxed preload cannot load other files or ES
// modules, only require('electron').
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  build: {
    outDir: here('../dist-electron/electron'),
    emptyOutDir: false,
    target: 'node22',
    minify: false,
    reportCompressedSize: false,
    lib: { entry: here('./preload.ts'), formats: ['cjs'], fileName: () => 'preload.cjs' },
    rollupOptions: { external: ['electron'] },
  },
});
