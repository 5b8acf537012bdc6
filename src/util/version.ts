// The studio's version, from the nearest package.json named mobilevit-studio above this file: the
// source tree and the compiled one (dist-electron/src/service/) sit at different depths.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export function appVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8'));
        if (pkg.name === 'mobilevit-studio' && typeof pkg.version === 'string') return pkg.version;
      } catch { /* not ours: keep looking */ }
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/** TensorFlow.js's version, read from its package so that asking needs no backend loaded. */
export const TFJS_VERSION: string = createRequire(import.meta.url)('@tensorflow/tfjs-core/package.json').version;
