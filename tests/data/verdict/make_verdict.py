#!/usr/bin/env python3
"""make_verdict.py: unit files for the three outcomes of the verdict rule
(docs/report.md, "The verdict") and the outcome worked out here, with the
standard library only. Run from this directory:
    python3 make_verdict.py
Output: <scenario>/<model>/r0-f<F>.json and <scenario>/expected.json.

Each of 5 folds holds 4 normal and 4 anomalous images. The normal images
score .1 .2 .3 .4; an anomalous image scoring .05 + .1 j lies above j of them,
so a fold's AUROC (the primary metric) is the sum of its four j over 16.
The baselines score constants (AUROC 1/2) or random 0/1 draws; the rule only
needs the best baseline's mean, which is at least 1/2, so the scenarios keep
every interval well away from that line except where they mean to cross it.
"""
import hashlib, json, math, os

K, ALPHA, T975_4 = 5, 0.05, 2.7764451051977987  # Student-t 0.975 quantile, df 4
RATIO = 8 / 32  # n_test / n_train of every unit
MODELS = ["w", "x", "y"]
# per scenario and model: the AUROC numerator (of 16) in each fold
SCENARIOS = {
    "clear_winner": {"w": [15, 16, 15, 16, 16], "x": [10, 11, 9, 10, 11], "y": [8, 9, 8, 7, 9]},
    "tie": {"w": [16, 16, 15, 16, 15], "x": [14, 13, 15, 14, 14], "y": [8, 9, 7, 8, 9]},
    "no_model_beats_baseline": {"w": [10, 6, 9, 7, 8], "x": [9, 7, 8, 8, 6], "y": [7, 9, 8, 6, 9]},
    # w's lead over x has a raw p of 0.0349 (below alpha) but, second smallest
    # of three, a Holm-adjusted p of 2 x 0.0349 = 0.0698 (above it): a tie
    "holm_tie": {"w": [13, 14, 14, 16, 13], "x": [12, 11, 12, 12, 11], "y": [10, 12, 11, 12, 9]},
    # w's mean AUROC, 0.825, lies far above any baseline's, but its interval
    # reaches down to 0.339, below the constant baselines' 1/2: it beats none
    "wide_interval": {"w": [16, 16, 16, 16, 2], "x": [9, 7, 8, 8, 6], "y": [7, 9, 8, 6, 9]},
}
# the outcome of each scenario, where it is not the scenario's name
OUTCOME = {"holm_tie": "tie", "wide_interval": "no_model_beats_baseline"}


def positions(total):
    """Four places j in 0..4 summing to total (greedy from the top)."""
    js = []
    for _ in range(4):
        j = min(4, total)
        js.append(j)
        total -= j
    assert total == 0
    return js


def auroc(normal, anomalous):
    s = 0.0
    for a in anomalous:
        for n in normal:
            s += 1.0 if a > n else 0.5 if a == n else 0.0
    return s / (len(normal) * len(anomalous))


def t_sf(t, df):
    """P(T > t), Simpson's rule on the Student-t density."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    f = lambda x: c * (1 + x * x / df) ** (-(df + 1) / 2)
    n = 20000
    h = t / n
    s = f(0) + f(t) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, n))
    return 0.5 - s * h / 3


def mean_sd(v):
    m = sum(v) / len(v)
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def ttest(d):
    """Corrected resampled t-test (Nadeau and Bengio), two-sided p."""
    m, s = mean_sd(d)
    t = m / math.sqrt((1 / len(d) + RATIO) * s * s)
    return m, s, min(1.0, 2 * t_sf(abs(t), len(d) - 1))


def holm(ps):
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adj, run = [0.0] * len(ps), 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (len(ps) - rank) * ps[i]))
        adj[i] = run
    return adj


def repeats_needed(mean, sd, alpha):
    for r in range(1, 101):
        n = r * K
        t = abs(mean) / math.sqrt(sd * sd * (1 / n + RATIO))
        if 2 * t_sf(t, n - 1) < alpha:
            return r
    return None


def write_unit(root, model, f, js):
    preds = []
    for i, s in enumerate([.1, .2, .3, .4]):
        preds.append({"path": "test/good/%d%03d.png" % (f, i), "label": 0, "defect": "good",
                      "p_anomalous": s})
    for i, j in enumerate(js):
        preds.append({"path": "test/cut/%d%03d.png" % (f, i), "label": 1, "defect": "cut",
                      "p_anomalous": round(.05 + .1 * j, 2)})
    preds.sort(key=lambda p: p["path"])
    doc = {"format": "darkfold-unit/2", "experiment": "verdict", "model": model, "repeat": 0,
           "fold": f, "status": "ok", "data": {"n_train": 32, "n_test": 8}, "curve": [],
           "threshold": {"value": 0.5, "policy": "fixed"}, "predictions": preds,
           "timing": {"train_seconds": 1.0, "images_per_second": 8.0,
                      "started": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:00:01Z"},
           "provenance": {"git_commit": "abc"}}
    os.makedirs(os.path.join(root, model), exist_ok=True)
    # docs/results.md: the last key is "checksum", the SHA-256 of the bytes
    # before the ',\n  "checksum"' that introduces it
    body = json.dumps(doc, indent=2)[:-2]
    with open(os.path.join(root, model, "r0-f%d.json" % f), "w") as fh:
        fh.write(body + ',\n  "checksum": "%s"\n}\n' % hashlib.sha256(body.encode()).hexdigest())


for name, counts in SCENARIOS.items():
    fold_auroc = {}
    for m in MODELS:
        fold_auroc[m] = []
        for f in range(K):
            js = positions(counts[m][f])
            write_unit(name, m, f, js)
            fold_auroc[m].append(auroc([.1, .2, .3, .4], [.05 + .1 * j for j in js]))
    stats = {}
    for m in MODELS:
        mu, sd = mean_sd(fold_auroc[m])
        h = T975_4 * sd / math.sqrt(K)
        stats[m] = (mu, mu - h, mu + h)
    ranking = sorted(MODELS, key=lambda m: -stats[m][0])  # stable: ties keep model order
    top = ranking[0]
    pairs = [(a, b) for i, a in enumerate(MODELS) for b in MODELS[i + 1:]]
    tests = [ttest([x - y for x, y in zip(fold_auroc[a], fold_auroc[b])]) for a, b in pairs]
    p_holm = holm([t[2] for t in tests])
    vs_top = {}
    for (a, b), t, ph in zip(pairs, tests, p_holm):
        if top in (a, b):
            other = b if a == top else a
            d = t[0] if a == top else -t[0]
            separated = ph < ALPHA and d > 0
            need = None if separated or d <= 0 else repeats_needed(d, t[1], ALPHA / len(pairs))
            vs_top[other] = {"diff_mean": d, "p": t[2], "p_holm": ph, "separated": separated,
                             "repeats_needed": need}
    # the best baseline's value is at least 1/2 (the constant baselines);
    # each scenario keeps the intervals clear of the random baseline's mean
    beats = {m: stats[m][1] > 0.5 for m in MODELS}
    if not any(beats.values()):
        outcome = "no_model_beats_baseline"
    elif beats[top] and all(v["separated"] for v in vs_top.values()):
        outcome = "clear_winner"
    else:
        outcome = "tie"
    assert outcome == OUTCOME.get(name, name), (name, outcome)
    expected = {"outcome": outcome,
                "models": [m for m in ranking if m == top or not vs_top[m]["separated"]],
                "ranking": [{"model": m, "mean": stats[m][0], "ci_low": stats[m][1],
                             "ci_high": stats[m][2], "vs_top": vs_top.get(m)} for m in ranking]}
    with open(os.path.join(name, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1)
        fh.write("\n")
