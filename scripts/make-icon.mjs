#!/usr/bin/env node
// Draws the app icon (assets/icon.png, 1024×1024): a patch grid with one query patch and its attention
// fading across the others — what the studio shows. Run once; the PNG is committed.
import sharp from 'sharp';
import { fileURLToPath } from 'node:url';

const size = 1024;
const n = 4;
const pad = 200;
const cell = (size - 2 * pad) / n;
const query = [1, 2];
const cells = [];
for (let r = 0; r < n; r++) {
  for (let c = 0; c < n; c++) {
    const d = Math.hypot(r - query[0], c - query[1]);
    const isQuery = r === query[0] && c === query[1];
    // Viridis from far (#3b528b) to near (#5ec962): the attention of the yellow query patch.
    const w = Math.exp(-d / 1.1);
    const mix = (a, b) => Math.round(a + (b - a) * w);
    const fill = isQuery ? '#fde725' : `rgb(${mix(0x3b, 0x5e)}, ${mix(0x52, 0xc9)}, ${mix(0x8b, 0x62)})`;
    cells.push(`<rect x="${pad + c * cell + 10}" y="${pad + r * cell + 10}" width="${cell - 20}" height="${cell - 20}" rx="22" fill="${fill}"/>`);
  }
}
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
  <defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#2a1b54"/><stop offset="1" stop-color="#21506b"/></linearGradient></defs>
  <rect x="40" y="40" width="${size - 80}" height="${size - 80}" rx="200" fill="url(#bg)"/>
  ${cells.join('\n  ')}
</svg>`;

const out = fileURLToPath(new URL('../assets/icon.png', import.meta.url));
await sharp(Buffer.from(svg)).png({ compressionLevel: 9 }).toFile(out);
console.log(`wrote ${out}`);
