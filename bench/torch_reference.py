#!/usr/bin/env python3
"""PyTorch CPU training throughput of the reference architectures.

Trains each model on random 3 x SIZE x SIZE images and random two-class
labels with Adam (as every cfg/*.cfg says; weight decay 0.0005), batch
BATCH, on THREADS threads, after a warm-up batch, and prints images/s
measured by the wall clock and by the process CPU time (on a shared
machine the CPU-time figure is the one to compare with `darkfold bench`,
which prints both).

The models mirror darkfold's cfg/*.cfg layer for layer:
  vgg16     13 3x3 convolutions with batch norm and ReLU, 5 max-pools, dense
            1024-1024-classes with dropout 0.5 (cfg/vgg16.cfg);
  resnet50  torchvision's ResNet-50, as cfg/resnet50.cfg (7x7/2 stem, 3x3/2
            max pool, 3-4-6-3 bottlenecks; also available as "resnet50-tv");
  cnn       3 convolutions 16/32/64 with batch norm, ReLU, max-pools, dense
            128 with dropout 0.5, classes (cfg/cnn.cfg);
  dense     dense 256-64-classes, ReLU (cfg/dense.cfg);
  ae        the convolutional autoencoder of cfg/ae.cfg, trained on its own
            input with the sum of squared errors (Darknet's sse cost).
It also prints the convolution and dense layers' multiply-add work as
GFLOP per training batch (forward, and twice that backward), counted the
same way as `darkfold bench`, and the GFLOP/s achieved, and the peak
resident set size of the process that trained the model (each model trains
in a child process of its own, forked after torch is imported, so the figure
is the interpreter and torch plus that model's training, as `darkfold bench`
reports its own process's peak).

With --predict it measures inference instead, as `darkfold bench --predict`
does: in eval mode under torch.no_grad(), on random images, the batch-1
latency (median and nearest-rank p99 of 100 forward passes after a warm-up
pass, wall clock) and the images/s of ITERS forward passes at batch 1, 2,
4, ..., 64, and the best batch.

Usage: python3 bench/torch_reference.py [--models vgg16,resnet50,cnn,dense,ae]
       [--size 64] [--batch 16] [--iters 5] [--threads 1] [--predict]
"""
import argparse
import os
import resource
import sys
import time

import torch
import torch.nn as nn


def vgg16(classes, size):
    layers, c = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1, bias=False), nn.BatchNorm2d(v),
                       nn.ReLU(inplace=True)]
            c = v
    s = size // 32
    return nn.Sequential(*layers, nn.Flatten(),
                         nn.Linear(512 * s * s, 1024), nn.ReLU(inplace=True), nn.Dropout(),
                         nn.Linear(1024, 1024), nn.ReLU(inplace=True), nn.Dropout(),
                         nn.Linear(1024, classes))


def resnet50_tv(classes, size):
    import torchvision
    return torchvision.models.resnet50(num_classes=classes)


def resnet50(classes, size):
    return resnet50_tv(classes, size)


def cnn(classes, size):
    s = size // 8

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64), nn.Flatten(),
                         nn.Linear(64 * s * s, 128), nn.ReLU(), nn.Dropout(),
                         nn.Linear(128, classes))


def dense(classes, size):
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, 256), nn.ReLU(),
                         nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, classes))


def ae(classes, size):
    """cfg/ae.cfg: 3x3 stride-2 convolutions to 16, 32 and 64 channels, a
    1x1 to 32, then three nearest-neighbour 2x upsamplings, each followed by
    a 3x3 convolution (32, 16, 16), and a 3x3 convolution to 3 channels with
    a logistic output; Darknet's leaky ReLU (slope 0.1) after the others.
    Convolutions have biases (no batch norm). classes is unused."""
    def conv(cin, cout, k, stride=1):
        return [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2), nn.LeakyReLU(0.1)]

    def up():
        return nn.Upsample(scale_factor=2, mode="nearest")
    return nn.Sequential(*conv(3, 16, 3, 2), *conv(16, 32, 3, 2), *conv(32, 64, 3, 2),
                         *conv(64, 32, 1), up(), *conv(32, 32, 3), up(), *conv(32, 16, 3),
                         up(), *conv(16, 16, 3), nn.Conv2d(16, 3, 3, padding=1), nn.Sigmoid())


MODELS = {"vgg16": vgg16, "resnet50": resnet50, "resnet50-tv": resnet50_tv, "cnn": cnn,
          "dense": dense, "ae": ae}


def training_gflop(model, x):
    """Multiply-add work of one training batch: 2 FLOP per multiply-add
    forward, twice that backward (weights and input gradients; the first
    layer has no input gradient), as darkfold counts it."""
    layers = []

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            layers.append(2.0 * k * out.numel())
        elif isinstance(mod, nn.Linear):
            layers.append(2.0 * mod.in_features * out.numel())
    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return (2 * layers[0] + 3 * sum(layers[1:])) * 1e-9


def measure(name, size, batch, iters, classes=2):
    torch.manual_seed(1)
    model = MODELS[name](classes, size)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.0001, weight_decay=0.0005)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 3, size, size)
    y = torch.randint(0, classes, (batch,))
    if name == "ae":  # a reconstruction of its input, Darknet's sse cost
        loss_fn, y = nn.MSELoss(reduction="sum"), x

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    gflop = training_gflop(model, x)
    step()  # warm-up
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return iters * batch / wall, iters * batch / cpu, gflop, gflop * iters / cpu


PREDICT_RUNS = 100
PREDICT_BATCHES = [1, 2, 4, 8, 16, 32, 64]


def measure_predict(name, size, iters, classes=2):
    torch.manual_seed(1)
    model = MODELS[name](classes, size)
    model.eval()
    lines = []
    with torch.no_grad():
        best = (0, 0.0)
        for batch in PREDICT_BATCHES:
            x = torch.rand(batch, 3, size, size)
            model(x)  # warm-up
            if batch == 1:
                t = []
                for _ in range(PREDICT_RUNS):
                    w0 = time.perf_counter()
                    model(x)
                    t.append(time.perf_counter() - w0)
                t.sort()
                median = (t[(PREDICT_RUNS - 1) // 2] + t[PREDICT_RUNS // 2]) / 2
                p99 = t[-(-99 * PREDICT_RUNS // 100) - 1]
                lines.append(f"{name}: latency, batch 1: median {1e3 * median:.3f} ms, "
                             f"p99 {1e3 * p99:.3f} ms over {PREDICT_RUNS} runs")
            w0 = time.perf_counter()
            for _ in range(iters):
                model(x)
            ips = iters * batch / (time.perf_counter() - w0)
            lines.append(f"{name}: throughput, batch {batch}: {ips:.2f} images/s")
            if ips > best[1]:
                best = (batch, ips)
        lines.append(f"{name}: best: batch {best[0]}, {best[1]:.2f} images/s")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="dense,cnn,vgg16,resnet50")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--predict", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.size}x{a.size}, "
          f"batch {a.batch}, {a.iters} timed batches")
    sys.stdout.flush()
    for name in a.models.split(","):
        pid = os.fork()
        if pid == 0 and a.predict:
            print("\n".join(measure_predict(name, a.size, a.iters)))
            sys.stdout.flush()
            os._exit(0)
        if pid == 0:
            wall, cpu, gflop, gflops = measure(name, a.size, a.batch, a.iters)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
            print(f"{name}: {wall:.2f} images/s (wall clock), {cpu:.2f} images/s (CPU time), "
                  f"{gflop:.2f} GFLOP/batch, {gflops:.1f} GFLOP/s (CPU time), "
                  f"peak RSS {rss:.0f} MiB")
            sys.stdout.flush()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(f"error: {name}: the measuring process failed (status {status})")


if __name__ == "__main__":
    main()
