#!/usr/bin/env bash
# test_report_summary.sh: `darkfold report` writes summary.json from unit
# files. The fixture (tests/data/report/fixture) was generated with an
# independent Python program that also computed the fold statistics, pooled
# values, Wilson intervals and McNemar counts; this test compares them.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
S=${SRCDIR:?SRCDIR must name the source root}
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) echo "ok: $1";; *) echo "FAIL: $1: output lacks '$3'"; echo "$2"; fail=1;; esac
}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
mkdir -p cfg res/fix
for m in vgg16 small_cnn dense2; do
  touch cfg/$m.cfg
  cp -r "$S/tests/data/report/fixture/$m" res/fix/
done
cat > fix.json <<'JSON'
{"name": "fix", "results_dir": "res", "dataset": {"root": "nowhere", "synthetic": false},
 "models": {"vgg16": "cfg/vgg16.cfg", "small_cnn": "cfg/small_cnn.cfg", "dense2": "cfg/dense2.cfg"},
 "cv": {"k": 5, "repeats": 1, "seed": 42}, "metrics": {"bootstrap": 300}}
JSON

out=$("$D" report fix.json --no-figures 2>&1); check "report on fixture units" 0 $?
contains "report names summary.json" "$out" "wrote res/fix/summary.json"
cp res/fix/summary.json first.json
"$D" report fix.json --no-figures >/dev/null 2>&1; check "report again" 0 $?
if cmp -s first.json res/fix/summary.json; then echo "ok: summary.json is byte-identical on a rerun"
else echo "FAIL: summary.json changed on a rerun"; fail=1; fi

python3 - "$S/tests/data/report/fixture/summary.json" res/fix/summary.json res/fix <<'PY' || fail=1
import json, math, sys
def strict(path):
    def bad(c):
        raise ValueError("%s holds %s" % (path, c))
    return json.load(open(path), parse_constant=bad)
ref, got = strict(sys.argv[1]), strict(sys.argv[2])
errors = []
def same(where, a, b, tol=1e-9):
    if (a is None) != (b is None) or (a is not None and abs(a - b) > tol):
        errors.append("%s: got %r, Python computed %r" % (where, a, b))
models = ["vgg16", "small_cnn", "dense2"]
metrics = ["loss", "accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1",
           "f2", "recall_other_positive", "f2_other_positive", "auroc", "auprc"]
for m in models:
    for x in metrics:
        g, r = got["models"][m]["metrics"][x], ref["models"][m]["metrics"][x]
        for k in ["mean", "sd", "ci_low", "ci_high", "n"]:
            same("%s.metrics.%s.%s" % (m, x, k), g[k], r[k])
        for i, (a, b) in enumerate(zip(g["folds"], r["folds"])):
            same("%s.metrics.%s.folds[%d]" % (m, x, i), a, b)
        gp, rp = got["models"][m]["pooled"][x], ref["models"][m]["pooled"][x]
        for k in ["value", "wilson_low", "wilson_high"]:
            if x == "recall_other_positive" and k != "value":
                continue  # the fixture gives no interval for it; darkfold does (a proportion)
            same("%s.pooled.%s.%s" % (m, x, k), gp[k], rp[k])
        lo, hi, v = gp["boot_low"], gp["boot_high"], gp["value"]
        if v is not None and not (lo <= v <= hi):
            errors.append("%s.pooled.%s: bootstrap [%r, %r] misses %r" % (m, x, lo, hi, v))
    if got["models"][m]["pooled"]["confusion"] != ref["models"][m]["pooled"]["confusion"]:
        errors.append("%s.pooled.confusion differs" % m)
    if got["models"][m]["units"] != ref["models"][m]["units"]:
        errors.append("%s.units differs" % m)
    for i, (a, b) in enumerate(zip(got["models"][m]["curve"], ref["models"][m]["curve"])):
        for k in ["n", "train_loss_mean", "train_loss_sd", "val_loss_mean", "val_loss_sd"]:
            same("%s.curve[%d].%s" % (m, i, k), a[k], b[k])
    same("%s.timing.train_seconds_total" % m, got["models"][m]["timing"]["train_seconds_total"],
         ref["models"][m]["timing"]["train_seconds_total"])
for b in ["always_anomalous", "always_normal"]:
    for x in ["accuracy", "recall", "specificity"]:
        same("baselines.%s.pooled.%s" % (b, x), got["baselines"][b]["pooled"][x]["value"],
             ref["baselines"][b]["pooled"][x]["value"])
# Nadeau-Bengio t from the fold values and each unit's recorded n_test/n_train
def units(m):
    out = []
    for f in range(5):
        u = json.load(open("%s/%s/r0-f%d.json" % (sys.argv[3], m, f)))
        out.append(u if u["status"] == "ok" else None)
    return out
for c in got["comparisons"]:
    ua, ub = units(c["a"]), units(c["b"])
    fa = iter(got["models"][c["a"]]["metrics"][c["metric"]]["folds"])
    fb = iter(got["models"][c["b"]]["metrics"][c["metric"]]["folds"])
    va = [next(fa) if u else None for u in ua]
    vb = [next(fb) if u else None for u in ub]
    d, ratio = [], []
    for f in range(5):
        if ua[f] and ub[f] and va[f] is not None and vb[f] is not None:
            d.append(va[f] - vb[f])
            ratio.append(ua[f]["data"]["n_test"] / ua[f]["data"]["n_train"])
    n = len(d); mean = sum(d) / n
    var = sum((x - mean) ** 2 for x in d) / (n - 1)
    t = mean / math.sqrt((1 / n + sum(ratio) / len(ratio)) * var)
    where = "comparison %s-%s %s" % (c["a"], c["b"], c["metric"])
    same(where + " t", c["t"], t, 1e-9)
    same(where + " df", c["df"], n - 1, 0)
    r = [x for x in ref["comparisons"] if (x["a"], x["b"], x["metric"]) == (c["a"], c["b"], c["metric"])]
    if r:
        # the Python fixture assumed n_test/n_train = 1/(k-1) exactly: p agrees closely
        same(where + " p", c["p"], r[0]["p"], 5e-4)
        for k in ["b", "c", "statistic", "p"]:
            same(where + " mcnemar." + k, c["mcnemar"][k], r[0]["mcnemar"][k], 1e-12)
    if c["p_holm"] < c["p"] - 1e-15:
        errors.append(where + ": Holm-corrected p below raw p")
best = got["best"]
if best["model"] != "vgg16" or best["runner_up"] != "small_cnn":
    errors.append("best: %r" % best)
for e in errors:
    print("FAIL:", e)
print("ok: summary.json matches the independent computation" if not errors else "")
sys.exit(1 if errors else 0)
PY

# McNemar's exact branch: vgg16 against small_cnn on fold 0 alone leaves
# b + c below 25; b, c and the two-sided binomial p worked out here from the
# unit files' predictions (each judged at its unit's threshold).
mkdir -p one/fix
for m in vgg16 small_cnn; do mkdir -p one/fix/$m && cp res/fix/$m/r0-f0.json one/fix/$m/; done
sed 's/"res"/"one"/; s/, "dense2": "cfg\/dense2.cfg"//' fix.json > one.json
out=$("$D" report one.json --no-figures 2>&1); check "report on fold 0 of two models" 0 $?
python3 - one/fix <<'PY' || fail=1
import json, math, sys
d = sys.argv[1]
def calls(m):
    u = json.load(open("%s/%s/r0-f0.json" % (d, m)))
    t = u["threshold"]["value"]
    return {q["path"]: (q["p_anomalous"] >= t) == (q["label"] == 1) for q in u["predictions"]}
a, b = calls("vgg16"), calls("small_cnn")
nb = sum(1 for k in a if k in b and a[k] and not b[k])
nc = sum(1 for k in a if k in b and not a[k] and b[k])
n, lo = nb + nc, min(nb, nc)
p = min(1.0, 2 * sum(math.comb(n, k) for k in range(lo + 1)) / 2 ** n)
got = json.load(open(d + "/summary.json"))["comparisons"]
errors = []
if not 0 < n < 25 or p >= 1:
    errors.append("fold 0 gives b + c = %d, p = %r: not a test of the exact branch" % (n, p))
for c in got:
    mc = c["mcnemar"]
    if (mc["b"], mc["c"], mc["method"], mc["statistic"]) != (nb, nc, "exact", lo) or abs(mc["p"] - p) > 1e-12:
        errors.append("%s mcnemar %r, Python computed b %d c %d exact %d p %r" % (c["metric"], mc, nb, nc, lo, p))
for e in errors:
    print("FAIL:", e)
print("ok: McNemar's exact test matches the independent computation (b %d, c %d, p %.6g)" % (nb, nc, p)
      if not errors else "")
sys.exit(1 if errors else 0)
PY

# bad input: one line naming the file, exit 1, summary.json left as it was
printf '{"format": "darkfold-unit/2", "model": "dense2", "repeat": 0, "fold": 1,\n "status": "ok", "predictions": [}\n' > res/fix/dense2/r0-f1.json
out=$("$D" report fix.json --no-figures 2>&1); check "corrupt unit file" 1 $?
contains "error names the unit file" "$out" "error: 'res/fix/dense2/r0-f1.json': no checksum at the end"
if cmp -s first.json res/fix/summary.json; then echo "ok: summary.json untouched on error"
else echo "FAIL: summary.json changed on error"; fail=1; fi
rm -f res/fix/summary.json
"$D" report fix.json --no-figures >/dev/null 2>&1; check "corrupt unit file again" 1 $?
[ -e res/fix/summary.json ] && { echo "FAIL: summary.json written despite the error"; fail=1; } || echo "ok: no summary.json on error"

sed 's/"res"/"elsewhere"/' fix.json > other.json
out=$("$D" report other.json 2>&1); check "no results folder" 1 $?
contains "missing results folder is named" "$out" "no results folder 'elsewhere/fix'"
out=$("$D" report missing.json 2>&1); check "missing experiment file" 1 $?
contains "missing experiment file is named" "$out" "missing.json"
"$D" report >/dev/null 2>&1; check "no experiment file" 2 $?
"$D" report fix.json --frob >/dev/null 2>&1; check "unknown option" 2 $?
"$D" report fix.json fix.json >/dev/null 2>&1; check "two experiment files" 2 $?
exit $fail
