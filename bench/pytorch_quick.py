# PyTorch's side of `npm run bench -- zoo` (bench/zoo.ts): the studio's quick fine-tune done in PyTorch on the
# same machine, as a reference for its speed and top-1. timm's mobilevit_xxs without its classifier, the studio's
# weights file (timm key names, read here: the file format is 8 bytes of header length, a JSON header, raw float32),
# the studio's evaluation transform (resize the shorter side to floor(size / crop), `interpolation`, centre crop),
# eval mode, no_grad features of every training image and (with flips, the studio's default) its mirror, then the
# studio's head solve (src/train/head-solve.ts): mean cross-entropy + (λ/2)‖W‖², λ chosen by held-out loss on 20 %
# of each class's training images (their views together) among the same decays, then solved on every row, here by
# torch.optim.LBFGS. Prints one JSON line: timings from the first image read to the trained head, and val top-1.
#
# Usage: python3 bench/pytorch_quick.py DATA WEIGHTS SIZE CROP INTERPOLATION FLIP(0|1) THREADS SEED
import json
import math
import os
import random
import sys
import time

import torch
import timm
from PIL import Image
from torchvision import transforms

WEIGHT_DECAYS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]  # src/train/head-solve.ts
HELD_OUT = 0.2
TOLERANCE, SEARCH_TOLERANCE, MAX_ITERATIONS = 1e-4, 1e-3, 300
BATCH = 32
EXTENSIONS = ('.png', '.jpg', '.jpeg', '.webp', '.bmp')


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == '__metadata__':
            continue
        if t['dtype'] != 'F32':
            raise ValueError(f'{path}: tensor {name} is {t["dtype"]}, only F32 is read')
        b, e = t['data_offsets']
        out[name] = torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=torch.float32).reshape(t['shape'])
    return out


def split(data, part):
    """(path, label) of data/part/<class>/<image>, classes in sorted order as the studio's scan."""
    classes = sorted(d for d in os.listdir(os.path.join(data, 'train')) if os.path.isdir(os.path.join(data, 'train', d)))
    rows = []
    for label, c in enumerate(classes):
        folder = os.path.join(data, part, c)
        rows += [(os.path.join(folder, f), label) for f in sorted(os.listdir(folder)) if f.lower().endswith(EXTENSIONS)]
    return rows, len(classes)


def features(model, transform, rows, flip):
    """[views][images][dim]: every image through the transform, and its mirror when `flip`."""
    views = [[] for _ in range(2 if flip else 1)]
    with torch.no_grad():
        for i in range(0, len(rows), BATCH):
            x = torch.stack([transform(Image.open(p).convert('RGB')) for p, _ in rows[i:i + BATCH]])
            views[0].append(model(x))
            if flip:
                views[1].append(model(torch.flip(x, dims=[3])))
    return [torch.cat(v).double() for v in views]


def solve(x, y, classes, decay, tolerance, start=None):
    w = torch.zeros(x.shape[1], classes, dtype=torch.float64) if start is None else start[0].clone()
    b = torch.zeros(classes, dtype=torch.float64) if start is None else start[1].clone()
    w.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=MAX_ITERATIONS, tolerance_grad=tolerance, tolerance_change=1e-12,
                            history_size=10, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + 0.5 * decay * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach(), opt.state[opt._params[0]]['n_iter']


def main():
    data, weights, size, crop, interpolation, flip, threads, seed = sys.argv[1:9]
    size, crop, flip, threads, seed = int(size), float(crop), flip == '1', int(threads), int(seed)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    model = timm.create_model('mobilevit_xxs', num_classes=0)
    state = {k: v for k, v in read_safetensors(weights).items() if not k.startswith('head.fc.')}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if [k for k in missing if not k.endswith('num_batches_tracked')] or unexpected:
        raise ValueError(f'{weights}: does not fit timm mobilevit_xxs (missing {missing[:5]}, unexpected {unexpected[:5]})')
    model.eval()
    mode = {'bicubic': transforms.InterpolationMode.BICUBIC, 'bilinear': transforms.InterpolationMode.BILINEAR}[interpolation]
    transform = transforms.Compose([transforms.Resize(math.floor(size / crop), interpolation=mode), transforms.CenterCrop(size), transforms.ToTensor()])
    t_model = time.perf_counter()
    train, classes = split(data, 'train')
    val, _ = split(data, 'val')
    train_views = features(model, transform, train, flip)
    (val_x,) = features(model, transform, val, False)
    t_features = time.perf_counter()

    labels = torch.tensor([l for _, l in train])
    x = torch.cat(train_views)
    y = labels.repeat(len(train_views))
    image = torch.arange(len(train)).repeat(len(train_views))
    rng = random.Random(seed)
    held = set()
    for c in range(classes):
        images = [i for i, (_, l) in enumerate(train) if l == c]
        rng.shuffle(images)
        held.update(images[:min(len(images) - 1, max(1, round(len(images) * HELD_OUT)))])
    is_held = torch.tensor([int(i) in held for i in image])
    tried, start = [], None
    for decay in WEIGHT_DECAYS:
        w, b, _ = solve(x[~is_held], y[~is_held], classes, decay, SEARCH_TOLERANCE, start)
        start = (w, b)
        with torch.no_grad():
            tried.append((torch.nn.functional.cross_entropy(x[is_held] @ w + b, y[is_held]).item(), decay))
    decay = min(tried)[1]
    w, b, iterations = solve(x, y, classes, decay, TOLERANCE)
    t_head = time.perf_counter()
    val_y = torch.tensor([l for _, l in val])
    top1 = ((val_x @ w + b).argmax(1) == val_y).double().mean().item()
    print(json.dumps({
        'torch': torch.__version__, 'timm': timm.__version__, 'threads': torch.get_num_threads(),
        'modelSeconds': t_model - t0, 'featureSeconds': t_features - t_model, 'headSeconds': t_head - t_features,
        'seconds': t_head - t_model, 'top1': top1, 'rows': x.shape[0], 'weightDecay': decay, 'iterations': iterations,
    }))


if __name__ == '__main__':
    main()
