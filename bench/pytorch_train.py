# PyTorch's side of `npm run bench -- speed` (bench/speed.ts, issue 23): one MobileViT-XXS optimizer step as the
# studio's benchmark step is (src/train/speed.ts): timm's mobilevit_xxs with ImageNet's 1,000 classes, train mode,
# forward, cross-entropy with label smoothing 0.1, backward, gradient clipping at norm 10, AdamW (weight decay
# 0.01), on a random batch drawn once from a fixed seed. Prints one JSON line: the median step after the warm-up.
#
# Usage: python3 bench/pytorch_train.py SIZE BATCH STEPS WARMUP THREADS
import json
import statistics
import sys
import time

import torch
import timm


def main():
    size, batch, steps, warmup, threads = (int(a) for a in sys.argv[1:6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = timm.create_model('mobilevit_xxs', num_classes=1000)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    images = torch.rand(batch, 3, size, size)
    labels = torch.randint(0, 1000, (batch,))

    def step():
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        return (time.perf_counter() - start) * 1000

    for _ in range(warmup):
        step()
    times = [step() for _ in range(steps)]
    ms = statistics.median(times)
    print(json.dumps({
        'torch': torch.__version__, 'timm': timm.__version__, 'threads': torch.get_num_threads(),
        'medianMs': ms, 'imagesPerSec': batch * 1000 / ms,
        'times': [round(t, 1) for t in times],
    }))


main()
