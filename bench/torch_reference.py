#!/usr/bin/env python3
"""PyTorch CPU training throughput of the reference architectures.

Trains each model on random 3 x SIZE x SIZE images and random two-class
labels with SGD (momentum 0.9), batch BATCH, on THREADS threads, after a
warm-up batch, and prints images/s measured by the wall clock and by the
process CPU time (on a shared machine the CPU-time figure is the one to
compare with `darkfold bench`, which prints both).

The models mirror darkfold's cfgs: VGG16 (13 3x3 convolutions, 5 max-pools,
fully connected 4096-4096-classes with dropout), ResNet50 (torchvision's),
a small CNN and a two-layer dense network.

Usage: python3 bench/torch_reference.py [--models vgg16,resnet50,cnn,dense]
       [--size 64] [--batch 16] [--iters 5] [--threads 1]
"""
import argparse
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
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    s = size // 32
    return nn.Sequential(*layers, nn.Flatten(),
                         nn.Linear(512 * s * s, 4096), nn.ReLU(inplace=True), nn.Dropout(),
                         nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(),
                         nn.Linear(4096, classes))


def resnet50(classes, size):
    import torchvision
    return torchvision.models.resnet50(num_classes=classes)


def cnn(classes, size):
    s = size // 8
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * s * s, 64), nn.ReLU(), nn.Linear(64, classes))


def dense(classes, size):
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, 128), nn.ReLU(),
                         nn.Linear(128, classes))


MODELS = {"vgg16": vgg16, "resnet50": resnet50, "cnn": cnn, "dense": dense}


def measure(name, size, batch, iters, classes=2):
    torch.manual_seed(1)
    model = MODELS[name](classes, size)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=0.0005)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 3, size, size)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    step()  # warm-up
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(iters):
        step()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return iters * batch / wall, iters * batch / cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="dense,cnn,vgg16,resnet50")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.size}x{a.size}, "
          f"batch {a.batch}, {a.iters} timed batches")
    for name in a.models.split(","):
        wall, cpu = measure(name, a.size, a.batch, a.iters)
        print(f"{name}: {wall:.2f} images/s (wall clock), {cpu:.2f} images/s (CPU time)")


if __name__ == "__main__":
    main()
