// The training recipe's defaults, and why they suit small datasets trained on a laptop.
//
// The user-facing settings (and their defaults) live in the contract's TrainSettings schema
// (src/protocol/contract.ts); this file holds the constants that complete the recipe and the
// reasoning behind both. The recipe is the MobileViT paper's / ml-cvnets' ImageNet recipe scaled
// down, so a run here can be compared with PyTorch running the same recipe.
//
//   optimizer      AdamW, β = (0.9, 0.999), ε = 1e-8 (PyTorch defaults, as ml-cvnets), weight decay
//                  0.01 (the paper's), none on biases and normalisation parameters (timm/ml-cvnets).
//   lr             peak 0.002 (the paper's). AdamW's step is normalised per parameter, so the peak
//                  barely depends on the batch size; with small batches the warm-up matters more.
//   warm-up        1 epoch, linear from 1e-6 (the paper warms up over 3k of ~375k iterations; on a
//                  dataset of a few thousand images one epoch is the shortest warm-up that still
//                  covers tens of steps, which is what keeps Adam's early second-moment estimates
//                  from producing huge first steps).
//                  (1 epoch is the reference; 'auto', the default, aims at ~50 steps: src/protocol/recipe.ts.)
//   decay          cosine to lr/10 (the paper: 0.002 → 0.0002) over the remaining epochs, per step; 'auto'
//                  anneals runs under 10 epochs to lr/100 (minLrRatio).
//   augmentation   random-resized crop (8–100% of the area) + flip, evaluation on the centre 90%: the reference
//                  for photos; 'auto' drops the crops and evaluates the whole image when the images are framed
//                  at about the training size (src/protocol/recipe.ts, measured by bench/recipe.ts).
//   epochs         30: small datasets overfit long before ImageNet's 300 epochs; label smoothing,
//                  random-resized crops and weight decay are the regularisers that let 30 work.
//   smoothing      0.1 (the paper's).
//   grad clip      global L2 norm 10: never binding in a healthy run, but it turns the occasional
//                  exploding batch (tiny batches at the multi-scale sampler's large sizes) into a
//                  bounded step instead of a NaN.
//   batch / size   32 at 256 px; on a CPU, 128 px trains about 4× faster and loses little on small
//                  datasets of photos (choose it for a first look). The multi-scale sampler keeps the
//                  pixels per batch constant, so its epochs cost about as much as fixed-size ones.
//                  On the wasm backend a batch that would not fit its 4 GB heap is trained in slices
//                  with gradient accumulation (memory.ts): same update, BatchNorm statistics per slice.
//   EMA            off; when on, decay 0.9995 with timm's warm-up (1+n)/(10+n), short enough that a
//                  30-epoch run of ~100 steps per epoch averages its last few epochs, not its init.
//   fine-tuning    --weights loads a pretrained backbone and re-initialises the classifier for the
//                  dataset's classes. freezeBackboneEpochs (e.g. 1–2) trains only that new
//                  classifier first, so its random gradients do not disturb the pretrained features;
//                  a lower lr (e.g. 5e-4) is then usually better than the from-scratch 0.002.
//   checkpoints    'last' every 50 steps and at each epoch end (a few seconds of work lost at most on
//                  a CPU, while the ~15 MB write stays far below 1% of training time); 'best' when the
//                  validation top-1 improves.

export const ADAMW = { beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;
/** Warm-up starts here rather than at 0, so the first step already moves the weights. */
export const WARMUP_START_LR = 1e-6;
export const EMA_DECAY = 0.9995;
export const CHECKPOINT_EVERY_STEPS = 50;
/** Batches prepared ahead of the one being trained on. */
export const PREFETCH_BATCHES = 2;
