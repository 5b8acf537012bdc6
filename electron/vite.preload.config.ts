// Bundles each preload (the studio window's, the hidden device window's) into one CommonJS file: a sandboxed
// preload cannot load other files or ES modules, only require('electron'). So the two must share no module,
// or the bundler would split it into a chunk that neither could load (test/electron/device-preload.test.ts).
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
    lib: {
      entry: { preload: here('./preload.ts'), 'device-preload': here('./device-preload.ts') },
      formats: ['cjs'],
      fileName: (_format, name) => `${name}.cjs`,
    },
    rollupOptions: { external: ['electron'] },
  },
});
