// Copies the end-to-end screenshots the README shows into assets/screenshots/, scaled down and palette-
// quantised so they stay small in git. Run after `npx vitest run test/e2e` (studio and zoo):
//   node bin/run-ts.mjs test/e2e/readme-screenshots.ts
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { ARTIFACTS, ROOT } from './harness.ts';

const PICKS: Record<string, string> = {
  '01-dataset': 'dataset',
  '02-train': 'train',
  '03-runs': 'runs',
  '04-evaluate': 'evaluate',
  '06-receptive-field': 'attention',
  '07-latency': 'latency',
  '08-settings': 'settings',
  '09-train-dark': 'train-dark',
  'zoo-03-quick-run': 'quick',
};

const out = join(ROOT, 'assets', 'screenshots');
mkdirSync(out, { recursive: true });
for (const [from, to] of Object.entries(PICKS)) {
  const info = await sharp(join(ARTIFACTS, `${from}.png`))
    .resize({ width: 1100, withoutEnlargement: true })
    .png({ palette: true, quality: 90, compressionLevel: 9 })
    .toFile(join(out, `${to}.png`));
  console.log(`${to}.png  ${info.width}×${info.height}  ${(info.size / 1024).toFixed(0)} KB`);
}
