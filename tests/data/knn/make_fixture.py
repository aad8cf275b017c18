#!/usr/bin/env python3
"""Writes cases.txt: a few tiny random images, and for each case the k
nearest training images of each query, their squared feature distances,
the reconstruction and the pooled image score, computed here from the
definitions in docs/experiments.md, with the standard library only, as the
reference for tests/test_knn.c.

Independent of darkfold's code: pixel values are multiples of 1/256, so
every feature, distance and mean is computed exactly with fractions; the
neighbours are a full sort by (distance, index); the score pools the map by
enumerating every window.

Training image 4 is a copy of image 1, so every query near image 1 has a
tie that the lower index must win.

Run: python3 make_fixture.py > cases.txt
"""
from fractions import Fraction
import random

N, C, H, W = 6, 3, 4, 4
CASES = [  # name, k, factor, pool, pool_k
    ("k1_mean", 1, 1, "mean", 1),
    ("k3_max_local", 3, 1, "max_local", 2),
    ("k3_factor2", 3, 2, "max_local", 3),
    ("k2_tie", 2, 1, "max_local", 1),
]

rng = random.Random(7)


def rand_image():
    return [rng.randrange(0, 257) for _ in range(C * H * W)]  # value v/256


train = [rand_image() for _ in range(N)]
train[4] = list(train[1])
queries = [rand_image() for _ in range(3)]
queries.append([min(256, v + (1 if p % 5 == 0 else 0)) for p, v in enumerate(train[1])])
queries.append(list(train[4]))


def features(img, f):
    out = []
    for ch in range(C):
        for i in range(H // f):
            for j in range(W // f):
                s = sum(img[(ch * H + i * f + a) * W + j * f + b]
                        for a in range(f) for b in range(f))
                out.append(Fraction(s, 256 * f * f))
    return out


def pool(m, kind, k):
    if kind == "mean":
        return sum(sum(row) for row in m) / (H * W)
    k = max(1, min(k, H, W))
    return max(sum(m[i + a][j + b] for a in range(k) for b in range(k)) / (k * k)
               for i in range(H - k + 1) for j in range(W - k + 1))


def emit(name, values):
    print(name, " ".join(repr(float(v)) for v in values))


print(N, C, H, W, len(queries))
for t in train:
    print("train", " ".join(str(v) for v in t))
for q in queries:
    print("query", " ".join(str(v) for v in q))
for name, k, f, kind, pk in CASES:
    print("case", name, k, f, kind, pk)
    tf = [features(t, f) for t in train]
    for q in queries:
        qf = features(q, f)
        d = [sum((a - b) ** 2 for a, b in zip(qf, t)) for t in tf]
        nn = sorted(range(N), key=lambda i: (d[i], i))[:k]
        rec = [sum(Fraction(train[i][p], 256) for i in nn) / k for p in range(C * H * W)]
        m = [[sum((Fraction(q[(ch * H + i) * W + j], 256) - rec[(ch * H + i) * W + j]) ** 2
                  for ch in range(C)) / C for j in range(W)] for i in range(H)]
        print("neighbours", " ".join(str(i) for i in nn))
        emit("dist", [d[i] for i in nn])
        emit("recon", rec)
        emit("score", [pool(m, kind, pk)])
