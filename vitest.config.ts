import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs backends are process-global; one file per worker keeps them isolated.
    pool: 'forks',
    // The engine's 'auto' measures every compute device (Chromium pages) at the first training of a model and
    // size: minutes in each test that trains. Tests of the measurement pass their own env (engine/devices.ts).
    env: { MOBILEVIT_AUTO_MEASURE: 'off' },
    fileParallelism: true,
  },
});
