// Bundles the compute device page (src/device/page/) into dist-device/: the studio's model, training step and
// inspection code with TF.js's webgpu, webgl and wasm backends, and the wasm binaries as files beside it.
// Served cross-origin isolated (COOP/COEP) by src/device/chromium.ts, loaded by Electron's hidden window.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  build: {
    outDir: here('../../../dist-device'),
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 8000,
    // The threaded wasm backend starts its workers from the source text of its module factory (toString):
    // minified, that text names variables of the enclosing bundle, and the workers fail ("e is not defined").
    minify: false,
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
});
