#!/usr/bin/env bash
# test_unit_oneclass.sh: a one-class unit (cfg/ae.cfg at 16x16, 2 epochs)
# writes a result file that says its scores are anomaly scores, tunes its
# threshold on the inner validation set, reports no loss and gives pixel
# metrics; bad declarations and missing masks are clear errors.
. "${SRCDIR:?}/tests/unit_common.sh"

# write_oc NAME MODELS_JSON [PIXEL] [ROOT]
write_oc() { write_pixel_experiment "$1" "${4:-$T/synth}" "$2" "${3:-true}"; }

write_oc oc "\"ae\": { \"cfg\": \"$S/cfg/ae.cfg\", \"kind\": \"one_class\", \"score\": \"max_local\", \"score_k\": 3, \"epochs\": 2 }"
run_unit oc ae; check "one-class unit trains" 0 $?
f=$T/results/oc/ae/r0-f0.json
if [ -f "$f" ]; then
  doc=$(cat "$f")
  contains "status ok" "$doc" '"status": "ok"'
  contains "kind" "$doc" '"kind": "one_class"'
  contains "score type" "$doc" '"type": "anomaly_score"'
  contains "pooling" "$doc" '"pooling": "max_local"'
  contains "window" "$doc" '"k": 3'
  contains "threshold tuned" "$doc" '"policy": "tuned"'
  contains "threshold from the inner split" "$doc" '"chosen_on": "inner_val"'
  contains "no loss for a score" "$doc" '"loss": "the score is not a probability"'
  [ "$(json_int "$f" epochs_run)" = 2 ] && ok "the model's own epochs" || bad "epochs_run is not the model's 2"
  python3 - "$f" <<'PY' && ok "pixel metrics and normal-only training" || bad "pixel metrics or training set"
import json, sys
d = json.load(open(sys.argv[1]))
px = d["pixel_metrics"]
assert 0 <= px["pixel_auroc"] <= 1 and 0 <= px["pro"] <= 1 and px["pro_max_fpr"] == 0.3, px
assert d["metrics"]["loss"] is None
# inner training set: normal images only (58 normal, 11 anomalous; the
# training folds hold about 29 normal, 80 % of them for inner training)
assert d["data"]["n_inner_train"] <= 29, d["data"]
assert all(c["val_accuracy"] is None for c in d["curve"])
PY
else
  bad "no result file"; cat "$T/out"
fi

# predict: the unit's own score for a held-out image, and its anomaly map
img=$(sed -n 's/^ *"path": "\(.*\.png\)",$/\1/p' "$f" | tail -1)
want=$(grep -A3 "\"path\": \"$img\"" "$f" | sed -n 's/^ *"p_anomalous": \(.*\)$/\1/p')
thr=$(sed -n '/^  "threshold": {/,/^  }/s/^ *"value": \(.*\),$/\1/p' "$f")
want_rc=$(awk -v p="$want" -v t="$thr" 'BEGIN { print (p + 0 >= t + 0) ? 3 : 0 }')
out=$("$D" predict --maps "$T/maps" "$T/results/oc/ae/r0-f0" "$img"); check "predict a one-class unit" "$want_rc" $?
contains "predict gives the unit's score" "$out" "$(printf '%s\t%.6f' "$img" "$want")"
base=$(basename "$img" .png)
python3 - "$T/maps/$base.map.png" <<'PY' && ok "anomaly map written as a 16x16 grey PNG" || bad "anomaly map"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
w, h, depth, colour = struct.unpack(">IIBB", b[16:26])
assert (w, h, depth, colour) == (16, 16, 8, 0), (w, h, depth, colour)
PY
write_oc sup "\"dense\": \"$S/cfg/dense.cfg\""
run_unit sup dense; check "a supervised unit trains" 0 $?
out=$("$D" predict --maps "$T/maps3" "$T/results/sup/dense/r0-f0" "$img" 2>&1); check "--maps on a supervised model is refused" 2 $?
contains "says why" "$out" "only one-class models have anomaly maps"

# report: the model is marked one-class and has pixel metrics across folds
(cd "$T" && "$D" run oc.json --model ae --repeat 0 --fold 1 >/dev/null 2>&1 && "$D" report oc.json >/dev/null 2>&1)
check "report" 0 $?
python3 - "$T/results/oc/summary.json" <<'PY' && ok "summary marks the kind" || bad "summary kind or pixel metrics"
import json, sys
m = json.load(open(sys.argv[1]))["models"]["ae"]
assert m["kind"] == "one_class"
assert m["pixel_metrics"]["pro"]["n"] == 2
assert m["metrics"]["loss"]["mean"] is None
PY

# a classifier declared one_class
write_oc bad1 "\"cnn\": { \"cfg\": \"$S/cfg/cnn.cfg\", \"kind\": \"one_class\" }"
run_unit bad1 cnn; check "classifier declared one_class fails" 1 $?
contains "says why" "$(cat "$T/out")" "[softmax] makes this a classifier"

# a reconstruction network declared (by default) supervised
write_oc bad2 "\"ae\": \"$S/cfg/ae.cfg\""
run_unit bad2 ae; check "autoencoder declared supervised fails" 1 $?
contains "says why" "$(cat "$T/out")" "declare model 'ae' \"kind\": \"one_class\""

# a score pooling on a supervised model
write_oc bad3 "\"cnn\": { \"cfg\": \"$S/cfg/cnn.cfg\", \"score\": \"mean\" }"
out=$("$D" plan "$T/bad3.json" 2>&1); check "score on a supervised model is rejected" 1 $?
contains "names the key" "$out" ".models.cnn.score: only a one_class model"

# unknown pooling
write_oc bad4 "\"ae\": { \"cfg\": \"$S/cfg/ae.cfg\", \"kind\": \"one_class\", \"score\": \"median\" }"
out=$("$D" plan "$T/bad4.json" 2>&1); check "unknown pooling is rejected" 1 $?
contains "names the key" "$out" ".models.ae.score"

# pixel metrics without masks
cp -r "$T/synth" "$T/nomask"
rm -rf "$T/nomask/cable/ground_truth"
write_oc bad5 "\"ae\": { \"cfg\": \"$S/cfg/ae.cfg\", \"kind\": \"one_class\" }" true "$T/nomask"
run_unit bad5 ae; check "pixel metrics without masks fail" 1 $?
contains "names the image" "$(cat "$T/out")" "without a ground-truth mask"
[ -f "$T/results/bad5/ae/r0-f0/final.weights" ] && bad "trained before failing" || ok "fails before training"

# darkfold check
out=$("$D" check --one-class "$S/cfg/ae.cfg" 2>&1); check "check --one-class ae.cfg" 0 $?
out=$("$D" check --one-class "$S/cfg/cnn.cfg" 2>&1); check "check --one-class cnn.cfg" 1 $?
contains "says why" "$out" "[softmax] makes this a classifier"
out=$("$D" check --classes 2 "$S/cfg/ae.cfg" 2>&1); check "check --classes 2 ae.cfg" 1 $?
contains "says why" "$out" "--one-class"
exit $fail
