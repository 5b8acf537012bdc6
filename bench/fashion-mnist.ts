// A transfer task no one here wrote: Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) as
// image folders. A backbone trains on five classes; a quick fine-tune then learns five *other* classes from a
// few images each, the task issue 21 measured (28-px RGB PNGs, root/train/<class>/ and root/val/<class>/).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];

/** Images [n][28·28] and labels of one split, from the IDX files (big-endian header, then bytes). */
function readSplit(prefix: 'train' | 't10k'): { images: Uint8Array; labels: Uint8Array; count: number } {
  const images = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, `${prefix}-images-idx3-ubyte.gz`)));
  const labels = gunzipSync(readFileSync(join(FASHION_MNIST_DIR, `${prefix}-labels-idx1-ubyte.gz`)));
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error(`${FASHION_MNIST_DIR}: not IDX image/label files`);
  const count = images.readUInt32BE(4);
  return { images: images.subarray(16), labels: labels.subarray(8), count };
}

export function fashionMnistInstalled(): boolean {
  return existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
}

/**
 * Writes `classes` (indices into FASHION_CLASSES) as a folder dataset: the first `trainPerClass` images of each
 * class from the training split, the first `valPerClass` from the test split. Built once (a `.done` marker).
 */
export async function fashionMnistFolder(dir: string, classes: number[], trainPerClass: number, valPerClass: number): Promise<string> {
  if (existsSync(join(dir, '.done'))) return dir;
  if (!fashionMnistInstalled()) throw new Error(`${FASHION_MNIST_DIR} is missing: apt-get install dataset-fashion-mnist`);
  rmSync(dir, { recursive: true, force: true });
  for (const [split, prefix, per] of [['train', 'train', trainPerClass], ['val', 't10k', valPerClass]] as const) {
    const { images, labels, count } = readSplit(prefix);
    for (const c of classes) {
      const out = join(dir, split, FASHION_CLASSES[c]);
      mkdirSync(out, { recursive: true });
      let written = 0;
      for (let i = 0; i < count && written < per; i++) {
        if (labels[i] !== c) continue;
        const grey = images.subarray(i * 784, (i + 1) * 784);
        const rgb = new Uint8Array(784 * 3);
        for (let p = 0; p < 784; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = grey[p];
        await sharp(rgb, { raw: { width: 28, height: 28, channels: 3 } }).png().toFile(join(out, `${i}.png`));
        written++;
      }
    }
  }
  writeFileSync(join(dir, '.done'), '');
  return dir;
}
