#!/usr/bin/env python3
"""make_fixture.py: writes the report test fixture (docs/results.md formats).

A simulated 5-fold study on an MVTec-AD-sized cable set (282 normal, 92
anomalous images): four models, three baselines, one diverged unit. Per-image
scores are drawn from a seeded generator; every per-fold metric, interval,
pooled curve and test in summary.json is computed from those scores, so the
file is internally consistent. Run from this directory:
    python3 make_fixture.py
Output: fixture/summary.json and fixture/<model>/r0-f<F>.json.
"""
import hashlib, json, math, os, random

K, ALPHA, BETA, THR = 5, 0.05, 2.0, 0.5
T975_4, T975_3 = 2.7764451051977987, 3.1824463052837091  # Student-t 0.975 quantiles, df 4 and 3
DEFECTS = [("bent_wire", 13), ("cable_swap", 12), ("combined", 11), ("cut_inner_insulation", 14),
           ("cut_outer_insulation", 10), ("missing_cable", 12), ("missing_wire", 10),
           ("poke_insulation", 10)]
MODELS = [  # name, separation, defect difficulty scale, epochs, images/s, seconds/epoch
    ("vgg16", 2.6, 1.0, 30, 41.5, 22.0),
    ("resnet50", 2.3, 1.1, 30, 28.2, 33.0),
    ("small_cnn", 1.7, 1.4, 30, 410.0, 2.2),
    ("dense2", 0.9, 1.8, 30, 1650.0, 0.55),
]
HARD = {"bent_wire": 0.6, "cable_swap": 1.2, "combined": 0.2, "cut_inner_insulation": 0.8,
        "cut_outer_insulation": 0.3, "missing_cable": 0.1, "missing_wire": 0.5, "poke_insulation": 1.0}

rng = random.Random(20261128)

images = [("train/good/%03d.png" % i, 0, "good") for i in range(224)]
images += [("test/good/%03d.png" % i, 0, "good") for i in range(58)]
for d, n in DEFECTS:
    images += [("test/%s/%03d.png" % (d, i), 1, d) for i in range(n)]
images.sort()
# stratified folds: deal each class round-robin after a seeded shuffle
fold_of = {}
for lab in (0, 1):
    idx = [i for i, im in enumerate(images) if im[1] == lab]
    rng.shuffle(idx)
    for j, i in enumerate(idx):
        fold_of[i] = j % K


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def metrics(lab, p, defects):
    tp = sum(1 for l, q in zip(lab, p) if l == 1 and q >= THR)
    fn = sum(1 for l, q in zip(lab, p) if l == 1 and q < THR)
    fp = sum(1 for l, q in zip(lab, p) if l == 0 and q >= THR)
    tn = sum(1 for l, q in zip(lab, p) if l == 0 and q < THR)
    n = len(lab)
    und = {}

    def div(a, b, name, why):
        if b == 0:
            und[name] = why
            return None
        return a / b
    prec = div(tp, tp + fp, "precision", "no positive predictions")
    rec = div(tp, tp + fn, "recall", "no positive images")
    spec = div(tn, tn + fp, "specificity", "no negative images")
    f1 = None if prec is None or rec is None or prec + rec == 0 else 2 * prec * rec / (prec + rec)
    if f1 is None:
        und["f1"] = "precision or recall undefined"

    def fb(pr, rc):
        if pr is None or rc is None or pr + rc == 0:
            return None
        return (1 + BETA**2) * pr * rc / (BETA**2 * pr + rc)
    f2 = fb(prec, rec)
    if f2 is None:
        und["f2"] = "precision or recall undefined"
    prec_o = div(tn, tn + fn, "precision_other_positive", "no negative predictions")
    rec_o = spec
    f2_o = fb(prec_o, rec_o)
    und.pop("precision_other_positive", None)
    if f2_o is None:
        und["f2_other_positive"] = "precision or recall undefined with normal positive"
    loss = -sum(math.log(max(q, 1e-15)) if l == 1 else math.log(max(1 - q, 1e-15))
                for l, q in zip(lab, p)) / n
    pos = [q for l, q in zip(lab, p) if l == 1]
    neg = [q for l, q in zip(lab, p) if l == 0]
    auroc = sum((1.0 if a > b else 0.5 if a == b else 0.0) for a in pos for b in neg) / (len(pos) * len(neg))
    # average precision over distinct thresholds (tied scores form one step)
    ap, prev_rec = 0.0, 0.0
    for t in sorted(set(p), reverse=True):
        tp_t = sum(1 for l, q in zip(lab, p) if l == 1 and q >= t)
        fp_t = sum(1 for l, q in zip(lab, p) if l == 0 and q >= t)
        rec_t = tp_t / len(pos)
        ap += (rec_t - prev_rec) * tp_t / (tp_t + fp_t)
        prev_rec = rec_t
    dr = {}
    for d in sorted(set(defects)):
        if d == "good":
            continue
        sel = [q for q, dd in zip(p, defects) if dd == d]
        dr[d] = {"recall": sum(1 for q in sel if q >= THR) / len(sel), "n": len(sel)}
    return {
        "positive": "anomalous", "beta": BETA, "threshold": THR, "loss": loss,
        "accuracy": (tp + tn) / n,
        "balanced_accuracy": None if rec is None or spec is None else (rec + spec) / 2,
        "precision": prec, "recall": rec, "specificity": spec, "f1": f1, "f2": f2,
        "recall_other_positive": rec_o, "f2_other_positive": f2_o, "auroc": auroc, "auprc": ap,
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn}, "defect_recall": dr, "undefined": und,
    }


METRICS = ["loss", "accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1", "f2",
           "recall_other_positive", "f2_other_positive", "auroc", "auprc"]


def across(folds, reasons):
    vals = [v for v in folds if v is not None]
    out = {"mean": None, "sd": None, "ci_low": None, "ci_high": None, "n": len(vals), "folds": folds,
           "reason": None}
    if not vals:
        out["reason"] = "undefined in every fold: " + (reasons[0] if reasons else "no value")
        return out
    m = sum(vals) / len(vals)
    out["mean"] = m
    if len(vals) < 2:
        out["reason"] = "fewer than 2 defined folds"
        return out
    sd = math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - 1))
    t = {5: T975_4, 4: T975_3}[len(vals)]
    h = t * sd / math.sqrt(len(vals))
    out.update(sd=sd, ci_low=m - h, ci_high=m + h)
    if len(vals) < len(folds):
        out["reason"] = "undefined in %d of %d folds" % (len(folds) - len(vals), len(folds))
    return out


def roc_pr(lab, p):
    pts = sorted(set(p), reverse=True)
    P = sum(lab)
    N = len(lab) - P
    roc, pr = [[0.0, 0.0]], []
    for t in pts:
        tp = sum(1 for l, q in zip(lab, p) if l == 1 and q >= t)
        fp = sum(1 for l, q in zip(lab, p) if l == 0 and q >= t)
        roc.append([fp / N, tp / P])
        pr.append([tp / P, tp / (tp + fp)])
    # thin to at most ~60 points to keep the fixture small
    def thin(a):
        if len(a) <= 60:
            return a
        step = len(a) / 59.0
        return [a[int(round(i * step))] for i in range(59)] + [a[-1]]
    return thin(roc), thin(pr)


def wilson(k, n, z=1.959963984540054):
    if n == 0:
        return None, None
    ph = k / n
    c = (ph + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return c - h, c + h


def betacf(a, b, x):
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / d
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((a + m2) * (qam + m2))
        d = 1 + aa * d; c = 1 + aa / c; d = 1 / d; h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d; c = 1 + aa / c; d = 1 / d
        de = d * c
        h *= de
        if abs(de - 1) < 1e-15:
            break
    return h


def ibeta(a, b, x):
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lb = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lb) * betacf(a, b, x) / a
    return 1 - math.exp(lb) * betacf(b, a, 1 - x) / b


def t_two_sided(t, df):
    return ibeta(df / 2, 0.5, df / (df + t * t))


def unit_file(model, f, status, p_all, mets, curve, cfg_epochs, ips, spe):
    test = sorted(i for i in range(len(images)) if fold_of[i] == f)
    n_train = len(images) - len(test)
    n_iv = int(round(n_train * 0.2))
    t_sec = spe * len(curve) * (1 + 0.03 * rng.uniform(-1, 1))
    start_s = 8 * 3600 + 5 * 60 * (MODEL_NAMES.index(model) * K + f)
    all_units.append((model, start_s, start_s + int(t_sec) + 3))
    return {
        # the command-line tests report these units as experiment "fix"
        "format": "darkfold-unit/2", "experiment": "fix", "experiment_sha256": EXP_SHA,
        "model": model, "repeat": 0, "fold": f, "unit": "r0-f%d" % f, "status": status,
        "reason": None if status == "ok" else "train loss became NaN at epoch 7",
        "diverged_epoch": None if status == "ok" else 7,
        "seeds": {"experiment": 42, "unit": 1000003 * (f + 1) + len(model), "darknet_srand": 7 + f},
        "cfg": {"path": "cfg/%s.cfg" % model, "effective": "results/cable5/%s/r0-f%d/effective.cfg" % (model, f),
                "sha256": hashlib.sha256(("cfg/%s.cfg" % model).encode()).hexdigest()},
        "data": {"root": "data/synth", "category": "cable", "data_key": "c0ffee", "width": 64, "height": 64,
                 "channels": 3, "n_train": n_train, "n_test": len(test), "n_inner_train": n_train - n_iv,
                 "n_inner_val": n_iv},
        "training": {"epochs": cfg_epochs, "batch": 32, "learning_rate": 0.001, "momentum": 0.9, "decay": 0.0005,
                     "optimizer": "sgd", "imbalance": "oversample", "augment": True, "early_stopping": True,
                     "patience": 5, "epochs_run": len(curve), "chosen_epoch": max(1, len(curve) - 5)},
        "curve": curve,
        "threshold": {"value": THR, "policy": "fixed", "chosen_on": "fixed"},
        "predictions": [{"path": images[i][0], "label": images[i][1], "defect": images[i][2],
                         "p_anomalous": p_all[i]} for i in test] if status == "ok" else [],
        "metrics": mets,
        "weights": "results/cable5/%s/r0-f%d/final.weights" % (model, f) if status == "ok" else None,
        "darknet_log": "results/cable5/%s/r0-f%d/darknet.log" % (model, f),
        "timing": {"train_seconds": t_sec, "images_per_second": ips * (1 + 0.02 * rng.uniform(-1, 1)),
                   "peak_rss_kb": 250000 + 1000 * len(model), "started": iso(start_s),
                   "finished": iso(start_s + int(t_sec) + 3)},
        "host": {"hostname": "bench01", "cpu": CPU, "blas_core": "Haswell", "blas_threads": 1},
        "provenance": PROV_UNIT,
    }


all_units = []  # (model, started, finished) in seconds of the day


def iso(s):
    return "2026-11-28T%02d:%02d:%02dZ" % (s // 3600, (s // 60) % 60, s % 60)


EXP_SHA = "5f2c8a1e9b7d3c4a6e0f1b2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a"
CPU = "Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz"
PROV_UNIT = {"darkfold_version": "0.1.0", "git_commit": "3e1f0c9a2b4d6e8f0a1c3e5b7d9f1a2c4e6b8d0f",
             "git_dirty": True, "darknet": "0.0.0+git20180914.61c9d02e-2+b4", "openblas": "0.3.21",
             "gsl": "2.7.1", "libpng": "1.6.39", "cjson": "1.7.15"}
MODEL_NAMES = [m[0] for m in MODELS]
DIVERGED = ("dense2", 3)
SKIP_WRITE = {"resnet50"}  # the summary holds everything; unit files of one model are left out

labels = [im[1] for im in images]
defects = [im[2] for im in images]
summary_models = {}
fold_values = {}   # model -> metric -> [per fold or None]
correct = {}       # model -> per image 1/0 (pooled, ok folds only)
units_written = []
for name, sep, hard, epochs, ips, spe in MODELS:
    p = []
    for lab, d in zip(labels, defects):
        z = sep * (1 if lab else -1) - (hard * HARD[d] if lab else 0)
        p.append(round(sigmoid(z + rng.gauss(0, 1.2)), 6))
    fv = {m: [] for m in METRICS}
    reasons = {m: [] for m in METRICS}
    curves, ok_idx = [], []
    unit_secs, unit_ips, unit_times = [], [], []
    for f in range(K):
        run = epochs - rng.choice([0, 0, 2, 4, 6])
        status = "ok"
        if (name, f) == DIVERGED:
            run, status = 7, "diverged"
        curve = []
        for e in range(1, run + 1):
            tl = 0.12 + (0.69 - 0.12) * math.exp(-e / (6 * sep / 2.6)) / (1 + 0.2 * sep) + rng.gauss(0, 0.01)
            vl = tl + 0.05 + 0.004 * e * (1.8 / sep) + rng.gauss(0, 0.02)
            if status == "diverged" and e == run:
                tl = vl = None
            curve.append({"epoch": e, "train_loss": tl, "val_loss": vl,
                          "val_accuracy": None if vl is None else min(0.99, 0.75 + 0.2 * (1 - math.exp(-e / 8))),
                          "learning_rate": 0.001})
        test = [i for i in range(len(images)) if fold_of[i] == f]
        mets = None
        if status == "ok":
            mets = metrics([labels[i] for i in test], [p[i] for i in test], [defects[i] for i in test])
            ok_idx += test
            curves.append(curve)
        for m in METRICS:
            fv[m].append(None if mets is None else mets[m])
            if mets is not None and mets[m] is None:
                reasons[m].append(mets["undefined"].get(m, "undefined"))
        uf = unit_file(name, f, status, p, mets, curve, epochs, ips, spe)
        unit_secs.append(uf["timing"]["train_seconds"])
        unit_ips.append(uf["timing"]["images_per_second"])
        started, finished = all_units[-1][1:]
        unit_times.append({"unit": uf["unit"], "status": status, "wall_seconds": finished - started,
                           "train_seconds": uf["timing"]["train_seconds"]})
        if name not in SKIP_WRITE:
            units_written.append(uf)
    ok_folds = [v for v in fv["accuracy"]]
    fold_values[name] = fv
    mets_sum = {}
    for m in METRICS:
        vals = [v for v, ok in zip(fv[m], ok_folds) if ok is not None]
        mets_sum[m] = across(vals, reasons[m])
    pl = [labels[i] for i in ok_idx]
    pp = [p[i] for i in ok_idx]
    pd = [defects[i] for i in ok_idx]
    pm = metrics(pl, pp, pd)
    roc, pr = roc_pr(pl, pp)
    pooled = {}
    prop_n = {"accuracy": len(pl), "recall": pm["confusion"]["tp"] + pm["confusion"]["fn"],
              "specificity": pm["confusion"]["tn"] + pm["confusion"]["fp"],
              "precision": pm["confusion"]["tp"] + pm["confusion"]["fp"]}
    for m in METRICS:
        v = pm[m]
        ent = {"value": v, "wilson_low": None, "wilson_high": None,
               "boot_low": None if v is None else v - 0.03, "boot_high": None if v is None else min(1, v + 0.03)}
        if m in prop_n and v is not None:
            lo, hi = wilson(round(v * prop_n[m]), prop_n[m])
            ent["wilson_low"], ent["wilson_high"] = lo, hi
        pooled[m] = ent
    pooled["confusion"] = pm["confusion"]
    pooled["roc"] = roc
    pooled["pr"] = pr
    # per-epoch curve over ok folds
    cur = []
    for e in range(1, max(len(c) for c in curves) + 1):
        tr = [c[e - 1]["train_loss"] for c in curves if len(c) >= e]
        va = [c[e - 1]["val_loss"] for c in curves if len(c) >= e]
        def msd(a):
            m = sum(a) / len(a)
            return m, (math.sqrt(sum((x - m) ** 2 for x in a) / (len(a) - 1)) if len(a) > 1 else None)
        tm, ts = msd(tr)
        vm, vs = msd(va)
        cur.append({"epoch": e, "n": len(tr), "train_loss_mean": tm, "train_loss_sd": ts,
                    "val_loss_mean": vm, "val_loss_sd": vs})
    n_ok = sum(1 for v in fv["accuracy"] if v is not None)
    summary_models[name] = {
        "units": {"total": K, "ok": n_ok, "diverged": K - n_ok, "failed": 0, "missing": 0, "stale": 0},
        "metrics": mets_sum, "pooled": pooled, "defect_recall": pm["defect_recall"], "curve": cur,
        "timing": {"train_seconds_mean": sum(unit_secs) / K, "train_seconds_total": sum(unit_secs),
                   "images_per_second_mean": sum(unit_ips) / K},
    }
    if name not in SKIP_WRITE:  # a summary without them, as an older darkfold wrote
        summary_models[name]["unit_times"] = unit_times
    correct[name] = {i: int((p[i] >= THR) == (labels[i] == 1)) for i in ok_idx}

# baselines
baselines = {}
for bname in ("always_anomalous", "always_normal", "stratified_random"):
    fv = {m: [] for m in METRICS}
    reasons = {m: [] for m in METRICS}
    allp = []
    prev = sum(labels) / len(labels)
    for f in range(K):
        test = [i for i in range(len(images)) if fold_of[i] == f]
        if bname == "always_anomalous":
            pb = [1.0] * len(test)
        elif bname == "always_normal":
            pb = [0.0] * len(test)
        else:
            pb = [1.0 if rng.random() < prev else 0.0 for _ in test]
        allp += list(zip(test, pb))
        mt = metrics([labels[i] for i in test], pb, [defects[i] for i in test])
        for m in METRICS:
            fv[m].append(mt[m])
            if mt[m] is None:
                reasons[m].append(mt["undefined"].get(m, "undefined"))
    allp.sort()
    pl = [labels[i] for i, _ in allp]
    pp = [q for _, q in allp]
    pm = metrics(pl, pp, [defects[i] for i, _ in allp])
    roc, pr = roc_pr(pl, pp)
    pooled = {m: {"value": pm[m], "wilson_low": None, "wilson_high": None, "boot_low": None, "boot_high": None}
              for m in METRICS}
    pooled["confusion"] = pm["confusion"]
    pooled["roc"], pooled["pr"] = roc, pr
    baselines[bname] = {"metrics": {m: across(fv[m], reasons[m]) for m in METRICS}, "pooled": pooled}

# comparisons: Nadeau-Bengio corrected resampled t-test per metric, Holm across pairs
n_test = len(images) / K
n_train = len(images) - n_test
comparisons = []
for m in METRICS:
    block = []
    for ai in range(len(MODEL_NAMES)):
        for bi in range(ai + 1, len(MODEL_NAMES)):
            a, b = MODEL_NAMES[ai], MODEL_NAMES[bi]
            d = [x - y for x, y in zip(fold_values[a][m], fold_values[b][m]) if x is not None and y is not None]
            J = len(d)
            dm = sum(d) / J
            var = sum((x - dm) ** 2 for x in d) / (J - 1)
            se = math.sqrt((1 / J + n_test / n_train) * var)
            t = dm / se if se > 0 else None
            pv = t_two_sided(t, J - 1) if t is not None else None
            common = sorted(set(correct[a]) & set(correct[b]))
            mb = sum(1 for i in common if correct[a][i] and not correct[b][i])
            mc = sum(1 for i in common if not correct[a][i] and correct[b][i])
            stat = (abs(mb - mc) - 1) ** 2 / (mb + mc) if mb + mc else 0.0
            block.append({"a": a, "b": b, "metric": m, "diff_mean": dm, "t": t, "df": J - 1, "p": pv,
                          "p_holm": None, "significant": False,
                          "mcnemar": {"b": mb, "c": mc, "statistic": stat,
                                      "p": math.erfc(math.sqrt(stat / 2))}})
    order = sorted(range(len(block)), key=lambda i: block[i]["p"])
    running = 0.0
    for r, i in enumerate(order):
        adj = min(1.0, (len(block) - r) * block[i]["p"])
        running = max(running, adj)
        block[i]["p_holm"] = running
        block[i]["significant"] = running < ALPHA
    comparisons += block

f2m = sorted(MODEL_NAMES, key=lambda n: -summary_models[n]["metrics"]["f2"]["mean"])
best, ru = f2m[0], f2m[1]
cmp = next(c for c in comparisons if c["metric"] == "f2" and {c["a"], c["b"]} == {best, ru})
summary = {
    "format": "darkfold-summary/1", "experiment": "cable5", "experiment_sha256": EXP_SHA, "k": K, "repeats": 1,
    "positive": "anomalous", "beta": BETA, "alpha": ALPHA, "threshold_policy": "fixed",
    "models": summary_models, "baselines": baselines, "comparisons": comparisons,
    "best": {"metric": "f2", "model": best, "value": summary_models[best]["metrics"]["f2"]["mean"],
             "runner_up": ru, "lead": summary_models[best]["metrics"]["f2"]["mean"] - summary_models[ru]["metrics"]["f2"]["mean"],
             "p_holm": cmp["p_holm"], "significant": cmp["significant"]},
    # as docs/results.md: wall time summed over the unit files (finished - started)
    "provenance": dict(PROV_UNIT, blas_core="Haswell", blas_threads=1, cpu=CPU, hostname="bench01",
                       units_total=len(all_units), wall_seconds_total=sum(u[2] - u[1] for u in all_units),
                       first_started=iso(min(u[1] for u in all_units)),
                       last_finished=iso(max(u[2] for u in all_units)), mixed_commits=False,
                       report_darkfold_version="0.1.0", report_gsl="2.7.1"),
}

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "fixture")
def dump(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
def dump_unit(obj, path):
    # docs/results.md: the last key is "checksum", the SHA-256 of the bytes
    # before the ',\n  "checksum"' that introduces it
    body = json.dumps(obj, indent=2)
    assert body.endswith("\n}")
    body = body[:-2]
    text = body + ',\n  "checksum": "%s"\n}\n' % hashlib.sha256(body.encode()).hexdigest()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)
dump(summary, os.path.join(out, "summary.json"))
for u in units_written:
    dump_unit(u, os.path.join(out, u["model"], u["unit"] + ".json"))
