// The linear-probe reference of issue 21, outside the training loop: pre-logits features of the un-augmented
// images (each file resized to size × size with a bilinear kernel, as torchvision's Resize), a fresh linear head
// initialised as PyTorch's nn.Linear (uniform ±1/√features), AdamW lr 1e-2 (weight decay 0.01, PyTorch's default),
// 300 full-batch steps, top-1 on the validation images. What a quick fine-tune should reach.
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { initBackend } from '../src/backend/index.ts';
import { writeUnitFloats } from '../src/data/pixels.ts';
import { scanDataset } from '../src/data/scan.ts';
import { createModel, type Model, type VariantName } from '../src/model/index.ts';
import { loadForFineTune } from '../src/train/head-only.ts';
import { AdamW } from '../src/optim/adamw.ts';
import { Rng } from '../src/util/random.ts';

async function features(model: Model, files: string[], size: number): Promise<tf.Tensor2D> {
  const x = new Float32Array(files.length * size * size * 3);
  for (let i = 0; i < files.length; i++) {
    const rgb = await sharp(files[i]).removeAlpha().toColourspace('srgb').resize(size, size, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    writeUnitFloats(new Uint8Array(rgb), x, i * size * size * 3, null);
  }
  return tf.tidy(() => model.features(tf.tensor4d(x, [files.length, size, size, 3]), { training: false }));
}

/** Top-1 of the probe on `data` (train/ and val/ folders) with the backbone of `weights`. */
export async function linearProbe(data: string, weights: string, variant: VariantName, size: number, seed = 0, steps = 300): Promise<number> {
  await initBackend('wasm');
  const scan = await scanDataset(data, { seed });
  const model = createModel(variant, { numClasses: scan.classes.length, seed });
  loadForFineTune(model, weights, scan.classes);
  const xTrain = await features(model, scan.train.map((e) => e.path), size);
  const xVal = await features(model, scan.val.map((e) => e.path), size);
  const [dim, classes] = [xTrain.shape[1], scan.classes.length];
  const rng = new Rng(seed);
  const bound = 1 / Math.sqrt(dim);
  const w = tf.variable(tf.tensor2d(Float32Array.from({ length: dim * classes }, () => rng.uniform(-bound, bound)), [dim, classes]));
  const b = tf.variable(tf.tensor1d(Float32Array.from({ length: classes }, () => rng.uniform(-bound, bound))));
  const opt = new AdamW([{ key: 'fc.weight', variable: w }, { key: 'fc.bias', variable: b }], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const y = tf.oneHot(tf.tensor1d(Int32Array.from(scan.train, (e) => e.label), 'int32'), classes);
  for (let s = 0; s < steps; s++) {
    const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(xTrain, w), b)) as tf.Scalar, [w, b]);
    opt.apply(new Map([['fc.weight', grads[w.name]], ['fc.bias', grads[b.name]]]), 1e-2);
    tf.dispose(Object.values(grads));
  }
  const predicted = tf.tidy(() => tf.argMax(tf.add(tf.matMul(xVal, w), b), 1).dataSync());
  const top1 = Array.from(predicted).filter((p, i) => p === scan.val[i].label).length / scan.val.length;
  tf.dispose([xTrain, xVal, w, b, y]);
  opt.dispose();
  model.dispose();
  return top1;
}
