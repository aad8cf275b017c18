#!/usr/bin/env bash
# test_unit_knn.sh: a knn unit ("kind": "knn") on a hand-made 16x16 set whose
# scores and pixel AUROC are worked out here: it fits on the normal inner
# training images only, tunes its threshold on the inner validation set,
# writes kind knn with no training, curve or weights; plan lists it; bad
# declarations, too many neighbours and predict are clear errors.
. "${SRCDIR:?}/tests/unit_common.sh"

# The set (MVTec layout, PNGs at 16x16, so the cache does not resize):
# - 20 normal images, all the same flat grey 128;
# - 8 anomalous copies of design A (a 5x5 square of 255 at (3, 4)) and 4
#   others (squares of 4, 6, 7 and 8 px at other values), each with a mask
#   that covers its square plus a ring of 1 px around it.
# Every normal image is the same, so whichever normal images are fitted, a
# test image's reconstruction is that grey: its map is ((v - 128)/255)^2 on
# its square and 0 elsewhere. Were an anomalous image fitted, the copies of
# A in the test fold would score 0.
python3 - "$T/hand" <<'PY' || { bad "writing the hand-made set"; exit 1; }
import os, struct, sys, zlib
root = sys.argv[1] + "/cable"
def png(path, rows, colour):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 2 if colour else 0, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
def image(sq):  # sq: (x, y, side, value) or None
    rows = []
    for y in range(16):
        r = []
        for x in range(16):
            v = 128
            if sq and sq[0] <= x < sq[0] + sq[2] and sq[1] <= y < sq[1] + sq[2]:
                v = sq[3]
            r += [v, v, v]
        rows.append(r)
    return rows
def mask(sq):
    x0, y0, s = sq[0] - 1, sq[1] - 1, sq[2] + 2
    return [[255 if x0 <= x < x0 + s and y0 <= y < y0 + s else 0 for x in range(16)]
            for y in range(16)]
for i in range(20):
    png("%s/test/good/%03d.png" % (root, i), image(None), True)
designs = [(3, 4, 5, 255)] * 8 + [(2, 2, 4, 0), (8, 1, 6, 200), (1, 7, 7, 30), (6, 6, 8, 250)]
for i, sq in enumerate(designs):
    png("%s/test/combined/%03d.png" % (root, i), image(sq), True)
    png("%s/ground_truth/combined/%03d_mask.png" % (root, i), mask(sq), False)
PY

# write_knn NAME MODELS_JSON [MORE_METRICS]: an experiment on the hand-made
# set, with pixel metrics.
write_knn() { write_pixel_experiment "$1" "$T/hand" "$2" "true${3:+, $3}"; }

# check_scores FILE POOLING: every test score, the threshold's provenance,
# the file's shape and the pixel AUROC against the values worked out here.
check_scores() {
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pool = sys.argv[2]
designs = [(3, 4, 5, 255)] * 8 + [(2, 2, 4, 0), (8, 1, 6, 200), (1, 7, 7, 30), (6, 6, 8, 250)]
assert d["status"] == "ok" and d["kind"] == "knn", (d["status"], d["kind"])
assert d["score"]["type"] == "anomaly_score" and d["score"]["pooling"] == pool
assert d["training"] is None and d["curve"] == [] and d["weights"] is None
assert d["darknet_log"] is None
assert d["cfg"]["path"] is None and d["cfg"]["effective"] is None
assert d["threshold"]["policy"] == "tuned" and d["threshold"]["chosen_on"] == "inner_val"
assert d["metrics"]["loss"] is None
t = d["timing"]["train_seconds"]
assert t is not None and 0 <= t < 60, t
# the model keeps the normal images of the inner training set: n_inner_train
# counts them, and the training folds hold 10 normal images, 80 % of them
# (at least 7) for inner training
assert d["knn"]["fit_images"] == d["data"]["n_inner_train"], d["knn"]
assert 7 <= d["knn"]["fit_images"] <= 10, d["knn"]
want_pixels = []  # (error, in mask) of every pixel of the test fold
n_anomalous = 0
for p in d["predictions"]:
    name = p["path"].rsplit("/", 1)[1]
    if p["label"] == 0:
        want, sq = 0.0, None
    else:
        n_anomalous += 1
        sq = designs[int(name[:3])]
        e = ((sq[3] - 128) / 255.0) ** 2
        want = e if pool == "max_local" else e * sq[2] ** 2 / 256.0
    got = p["p_anomalous"]
    assert abs(got - want) <= 1e-6 * max(1.0, want), (name, got, want)
    for y in range(16):
        for x in range(16):
            in_sq = sq and sq[0] <= x < sq[0] + sq[2] and sq[1] <= y < sq[1] + sq[2]
            in_mask = sq and sq[0] - 1 <= x < sq[0] + sq[2] + 1 and sq[1] - 1 <= y < sq[1] + sq[2] + 1
            want_pixels.append((((sq[3] - 128) / 255.0) ** 2 if in_sq else 0.0, bool(in_mask)))
assert n_anomalous >= 4, n_anomalous
# pixel AUROC by counting pairs (ties count one half)
pos = [s for s, m in want_pixels if m]
neg = [s for s, m in want_pixels if not m]
from collections import Counter
negc = Counter(neg)
wins = 0.0
for s in pos:
    wins += sum(c for q, c in negc.items() if s > q) + 0.5 * negc.get(s, 0)
auroc = wins / (len(pos) * len(neg))
px = d["pixel_metrics"]
assert abs(px["pixel_auroc"] - auroc) <= 1e-9, (px["pixel_auroc"], auroc)
assert 0 <= px["pro"] <= 1 and px["pro_max_fpr"] == 0.3, px
PY
}

# a fixed threshold means nothing on a score: the unit tunes it instead
write_knn k1 "\"knn\": { \"kind\": \"knn\", \"score\": \"mean\" }" '"threshold_policy": "fixed"'
run_unit k1 knn; check "knn unit runs" 0 $?
f=$T/results/k1/knn/r0-f0.json
if [ -f "$f" ]; then
  check_scores "$f" mean && ok "knn scores, mean pooling" || bad "knn scores, mean pooling"
  [ -e "$T/results/k1/knn/r0-f0/final.weights" ] && bad "a knn unit saved weights" || ok "no weights"
else
  bad "no result file"; cat "$T/out"
fi

write_knn k3 "\"knn\": { \"kind\": \"knn\", \"neighbours\": 3, \"downsample\": 4, \"score\": \"max_local\", \"score_k\": 4 }"
run_unit k3 knn; check "knn unit with 3 neighbours, downsample 4" 0 $?
f3=$T/results/k3/knn/r0-f0.json
if [ -f "$f3" ]; then
  check_scores "$f3" max_local && ok "knn scores, max_local pooling" || bad "knn scores, max_local"
  contains "neighbours in the file" "$(cat "$f3")" '"neighbours": 3'
  contains "downsample in the file" "$(cat "$f3")" '"downsample": 4'
else
  bad "no result file"; cat "$T/out"
fi

# the same unit again is current: nothing reruns
(cd "$T" && "$D" run k3.json --model knn --repeat 0 --fold 0) >"$T/out2" 2>&1
check "rerun" 0 $?
contains "a current knn unit is skipped" "$(cat "$T/out2")" "up to date"

# plan: the knn model is listed, costed, and its make rule names no cfg
out=$("$D" plan "$T/k3.json" 2>&1); check "plan" 0 $?
contains "plan lists the knn units" "$out" "knn          r0-f1"
contains "plan costs knn" "$out" "knn model knn: 0.2 s per unit, fixed"
out=$("$D" plan "$T/k3.json" --format make 2>&1); check "plan --format make" 0 $?
contains "make rule without a cfg" "$out" "$T/results/k3/knn/r0-f0.json: $T/k3.json \$(DF_DATA_STAMP) \$(DF_BINARY)"

# summary and report: the kind is knn, shown as a one-class model
(cd "$T" && "$D" run k3.json >/dev/null 2>&1 && "$D" report k3.json >/dev/null 2>&1)
check "report" 0 $?
python3 - "$T/results/k3/summary.json" <<'PY' && ok "summary kind knn" || bad "summary kind"
import json, sys
m = json.load(open(sys.argv[1]))["models"]["knn"]
assert m["kind"] == "knn", m["kind"]
assert m["pixel_metrics"]["pixel_auroc"]["n"] == 2
PY
md=$(cat "$T/results/k3/report.md" 2>/dev/null)
contains "report marks the kNN row" "$md" "| knn | one-class (kNN) |"
contains "report table tag" "$md" "| knn (one-class, kNN) |"

# predict: a knn unit keeps no model
img=$(sed -n 's/^ *"path": "\(.*\.png\)",$/\1/p' "$f3" | tail -1)
out=$("$D" predict "$f3" "$img" 2>&1); check "predict on a knn unit fails" 1 $?
contains "predict says why" "$out" "a knn unit keeps no model to predict with"

# the inputs hash: a change elsewhere in the file reruns nothing, another
# neighbours value reruns the unit
sed -i 's/"batch": 8 }/"batch": 8  }/' "$T/k3.json"
(cd "$T" && "$D" run k3.json --model knn --repeat 0 --fold 0) >"$T/out3" 2>&1
contains "an unrelated edit reruns nothing" "$(cat "$T/out3")" "up to date"
sed -i 's/"neighbours": 3/"neighbours": 2/' "$T/k3.json"
(cd "$T" && "$D" run k3.json --model knn --repeat 0 --fold 0) >"$T/out3" 2>&1
contains "another neighbours value reruns the unit" "$(cat "$T/out3")" "fitting on"
# submit: fold 1 is now stale; its memory is estimated without a network
out=$(cd "$T" && "$D" submit k3.json --dry-run 2>&1); check "submit --dry-run" 0 $?
printf '%s\n' "$out" | grep -Eq "^submit: memory per task, .*: knn [1-9][0-9]*M$" &&
  ok "submit estimates a knn unit's memory" || bad "submit memory line: $out"

# more neighbours than normal inner training images: the unit fails
write_knn many "\"knn\": { \"kind\": \"knn\", \"neighbours\": 11 }"
run_unit many knn; check "too many neighbours fail" 1 $?
contains "says why" "$(cat "$T/out")" "\"neighbours\" is 11, more than the"
python3 - "$T/results/many/knn/r0-f0.json" <<'PY' && ok "the failure is recorded" || bad "no failed result file"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "failed" and "more than the" in d["reason"], d["status"]
assert d["predictions"] == [] and d["knn"]["fit_images"] is None, d["knn"]
PY

# declaration errors name the JSON path
# rejects NAME DESCRIPTION MODELS_JSON MESSAGE: plan refuses the experiment
rejects() {
  write_knn "$1" "$3"
  local out
  out=$("$D" plan "$T/$1.json" 2>&1); check "$2 is rejected" 1 $?
  contains "names the key" "$out" "$4"
}
rejects bad1 "cfg on a knn model" "\"knn\": { \"kind\": \"knn\", \"cfg\": \"$S/cfg/ae.cfg\" }" \
  "bad1.json: .models.knn.cfg: a knn model has no network"
rejects bad2 "neighbours on a one_class model" \
  "\"ae\": { \"cfg\": \"$S/cfg/ae.cfg\", \"kind\": \"one_class\", \"neighbours\": 2 }" \
  ".models.ae.neighbours: only a knn model has this key"
rejects bad3 "downsample not dividing 16" "\"knn\": { \"kind\": \"knn\", \"downsample\": 3 }" \
  ".models.knn.downsample: 3 does not divide the input size 16x16"
rejects bad4 "neighbours 0" "\"knn\": { \"kind\": \"knn\", \"neighbours\": 0 }" \
  ".models.knn.neighbours: expected an integer >= 1, got 0"
exit $fail
