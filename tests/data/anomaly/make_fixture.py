#!/usr/bin/env python3
"""Writes pixels.txt: maps and masks of a few small images, and the pixel
AUROC and PRO (FPR limit 0.3) computed here from the definitions, with the
standard library only, as the reference for tests/test_anomaly.c.

Independent of darkfold's code: AUROC by comparing every (defect, clean)
pixel pair; regions by union-find over 8-neighbours; the PRO curve by
recounting every region at every threshold; the area by the trapezoid rule
with linear interpolation at the limit.

Run: python3 make_fixture.py > pixels.txt
"""
import random

N, H, W = 3, 6, 7
LIMIT = 0.3

rng = random.Random(12)
maps, masks = [], []
for k in range(N):
    mask = [[0] * W for _ in range(H)]
    if k == 0:  # two regions: a 2x3 block and one diagonal pair
        for i in range(1, 3):
            for j in range(1, 4):
                mask[i][j] = 1
        mask[4][5] = mask[5][6] = 1
    elif k == 2:  # an L shape touching the border
        for i in range(3, 6):
            mask[i][0] = 1
        mask[5][1] = mask[5][2] = 1
    masks.append(mask)
    # scores on a coarse grid (ties), higher on average inside the mask
    m = [[rng.randrange(0, 8) / 8 + (0.25 * rng.randrange(0, 3) if mask[i][j] else 0)
          for j in range(W)] for i in range(H)]
    maps.append(m)

flat = [(maps[k][i][j], masks[k][i][j], k, i, j)
        for k in range(N) for i in range(H) for j in range(W)]

# pixel AUROC: pairs, ties count one half
pos = [s for s, m, *_ in flat if m]
neg = [s for s, m, *_ in flat if not m]
wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
auroc = wins / (len(pos) * len(neg))

# regions: union-find over 8-neighbours
parent = {}
def find(a):
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a
for k in range(N):
    for i in range(H):
        for j in range(W):
            if masks[k][i][j]:
                parent[(k, i, j)] = (k, i, j)
for (k, i, j) in list(parent):
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            b = (k, i + di, j + dj)
            if b in parent:
                ra, rb = find((k, i, j)), find(b)
                if ra != rb:
                    parent[ra] = rb
regions = {}
for a in parent:
    regions.setdefault(find(a), []).append(a)

def curve_point(t):
    fp = sum(1 for s, m, *_ in flat if not m and s >= t)
    fpr = fp / len(neg)
    pro = sum(sum(1 for (k, i, j) in r if maps[k][i][j] >= t) / len(r)
              for r in regions.values()) / len(regions)
    return fpr, pro

pts = [(0.0, 0.0)] + [curve_point(t) for t in sorted({s for s, *_ in flat}, reverse=True)]
area = 0.0
for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
    if x1 >= LIMIT:
        y = y0 + (y1 - y0) * (LIMIT - x0) / (x1 - x0) if x1 > x0 else y1
        area += (LIMIT - x0) * (y0 + y) / 2
        break
    area += (x1 - x0) * (y0 + y1) / 2
pro = area / LIMIT

print(N, H, W)
for k in range(N):
    for i in range(H):
        print(" ".join(repr(v) for v in maps[k][i]))
for k in range(N):
    for i in range(H):
        print(" ".join(str(v) for v in masks[k][i]))
print("regions", len(regions))
print("pixel_auroc %.17g" % auroc)
print("pro %.17g" % pro)
