#!/usr/bin/env bash
# test_unit_models.sh: one unit of each of the four study models trains on a
# tiny synthetic set and writes a complete result file; `darkfold predict`
# on the trained unit reproduces its held-out scores.
. "${SRCDIR:?}/tests/unit_common.sh"

write_experiment four 1 "" "\"dense\": \"$S/cfg/dense.cfg\", \"cnn\": \"$S/cfg/cnn.cfg\", \"vgg16\": \"$S/cfg/vgg16.cfg\", \"resnet50\": \"$S/cfg/resnet50.cfg\""
for m in dense cnn vgg16 resnet50; do
  run_unit four $m; check "$m unit trains" 0 $?
  f=$T/results/four/$m/r0-f0.json
  [ -f "$f" ] || { bad "$m: no result file"; cat "$T/out"; continue; }
  contains "$m status ok" "$(cat "$f")" '"status": "ok"'
  contains "$m format" "$(cat "$f")" '"format": "darkfold-unit/2"'
  # Fold 0 of 2, stratified: 29 of the 58 normal and 5 or 6 of the 11
  # anomalous images.
  nt=$(json_int "$f" n_test); ntr=$(json_int "$f" n_train)
  [ "$((nt + ntr))" = 69 ] && { [ "$nt" = 34 ] || [ "$nt" = 35 ]; } &&
    ok "$m: 69 images split $ntr/$nt" || bad "$m: split $ntr/$nt"
  np=$(grep -c '"p_anomalous"' "$f")
  [ "$np" = "$nt" ] && ok "$m: one prediction per held-out image" || bad "$m: $np predictions for $nt images"
  [ "$(json_int "$f" epochs_run)" = 1 ] && ok "$m: one epoch run" || bad "$m: epochs_run"
  grep -q '"metrics": {' "$f" && ok "$m: metrics" || bad "$m: no metrics"
  for k in train_loss val_loss val_accuracy learning_rate peak_rss_kb max_rss_mib train_seconds images_per_second darknet_srand data_key inputs_sha256; do
    grep -q "\"$k\": [0-9\"]" "$f" || bad "$m: $k missing or null"
  done
  [ -s "$T/results/four/$m/r0-f0/final.weights" ] && ok "$m: trained weights saved" || bad "$m: no final.weights"
  [ -e "$T/results/four/$m/r0-f0/checkpoint" ] && bad "$m: checkpoint left behind" || ok "$m: checkpoint removed"
  grep -q 'layer' "$T/results/four/$m/r0-f0/darknet.log" && ok "$m: Darknet's layer table went to the log" || bad "$m: darknet.log"
  case "$(cat "$T/out")" in *"Using default"*|*"layer     filters"*) bad "$m: Darknet chatter on the terminal";; *) ok "$m: terminal free of Darknet chatter";; esac
  contains "$m: progress line" "$(cat "$T/out")" "epoch 1/1"
done

# predict: the unit's own scores for three held-out images, at its threshold.
f=$T/results/four/cnn/r0-f0.json
imgs=$(sed -n 's/^ *"path": "\(.*\.png\)",$/\1/p' "$f" | sed -n '1p;10p;30p')
want_rc=0
out=$("$D" predict "$T/results/four/cnn/r0-f0" $imgs); rc=$?
thr=$(sed -n '/^  "threshold": {/,/^  }/s/^ *"value": \(.*\),$/\1/p' "$f")
[ -n "$thr" ] && ok "the unit records its threshold ($thr)" || bad "no threshold value in $f"
for img in $imgs; do
  p=$(grep -A3 "\"path\": \"$img\"" "$f" | sed -n 's/^ *"p_anomalous": \(.*\)$/\1/p')
  want=$(printf '%.6f' "$p")
  verdict=$(awk -v p="$p" -v t="$thr" 'BEGIN { print (p + 0 >= t + 0) ? "anomalous" : "normal" }')
  contains "predict scores $img as the unit did" "$out" "$(printf '%s\t%s\t%s' "$img" "$want" "$verdict")"
  [ "$verdict" = anomalous ] && want_rc=3
done
check "predict with a unit folder: status 3 if any image is anomalous, else 0" "$want_rc" "$rc"
[ "$(printf '%s\n' "$out" | wc -l)" = 3 ] && ok "predict prints one line per image" || bad "predict line count"
out2=$("$D" predict "$f" $imgs); check "predict with a result file" "$want_rc" $?
[ "$out" = "$out2" ] && ok "result file and folder agree" || bad "result file and folder disagree"
out3=$("$D" predict --cfg "$T/results/four/cnn/r0-f0/effective.cfg" --weights "$T/results/four/cnn/r0-f0/final.weights" --threshold 0.3 $imgs)
rc3=$?
want_rc3=0
printf '%s\n' "$out3" | grep -q '	anomalous$' && want_rc3=3
check "predict with --cfg --weights" "$want_rc3" "$rc3"
[ "$(printf '%s\n' "$out3" | cut -f1,2)" = "$(printf '%s\n' "$out" | cut -f1,2)" ] && ok "--cfg --weights give the unit's scores" || bad "--cfg --weights scores differ"
wrong=$(printf '%s\n' "$out3" | awk -F'\t' '($2 >= 0.3) != ($3 == "anomalous")')
[ -z "$wrong" ] && ok "--threshold sets the verdict" || bad "--threshold ignored: $wrong"
err=$("$D" predict "$T/results/four/cnn/r0-f0" "$T/nosuch.png" 2>&1); check "predict with a missing image: status 4" 4 $?
contains "missing image named" "$err" "nosuch.png"
err=$("$D" predict "$T/nowhere" $imgs 2>&1); check "predict with no model" 1 $?
contains "missing model named" "$err" "nowhere"
"$D" predict >/dev/null 2>&1; check "predict without arguments" 2 $?
exit $fail
