// Builds the Svelte renderer (renderer/) into dist-renderer/ at the repository root. The same bundle is
// loaded by the Electron window and served by the browser mode (src/server/), so paths are relative.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./renderer'),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: here('./dist-renderer'),
    emptyOutDir: true,
    target: 'es2022',
    // One small CSS file and no inline <style>/<script>, so the strict CSP in index.html holds.
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    // Not the "[PLUGIN_TIMINGS] … was slow" note: on a busy machine it fires on every build `serve` runs for a user.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
});
