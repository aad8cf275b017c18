#!/usr/bin/env bash
# test_run_guards.sh: `darkfold run` refuses an impossible study before any
# unit starts, keeps an ok result when a rerun fails, retrains a unit whose
# result file is corrupt; `darkfold report` refuses stale unit files (or
# marks them with --allow-stale) and says when nothing has finished.
. "${SRCDIR:?}/tests/unit_common.sh"
units() { find "$T/results/$1" -name 'r*-f*.json' 2>/dev/null | wc -l; }

# 11 anomalous images cannot be stratified into 12 folds.
write_experiment bigk 1
sed -i 's/"k": 2/"k": 12/' "$T/bigk.json"
out=$(cd "$T" && "$D" run bigk.json 2>&1); check "k above the smaller class" 1 $?
contains "k is explained" "$out" "cannot stratify 58 normal and 11 anomalous images into 12 folds"
contains "nothing ran" "$out" "'bigk.json': the study cannot start: no unit was run"
[ "$(units bigk)" = 0 ] && ok "no result file written" || bad "$(units bigk) result files written"

# 2 models x 1000 repeats x 6 folds = 12000 units.
write_experiment many 1
sed -i 's/"k": 2/"k": 6, "repeats": 1000/' "$T/many.json"
out=$(cd "$T" && "$D" run many.json 2>&1); check "too many units" 1 $?
contains "unit count is named" "$out" "2 models x 1000 repeats x 6 folds = 12000 units, more than the 10000"
[ "$(units many)" = 0 ] && ok "no result file written" || bad "$(units many) result files written"

# An ok result survives a rerun that fails (the cnn's weights do not fit the
# dense network): the failure goes beside it.
write_experiment keep 1
run_unit keep dense; check "keep: ok unit" 0 $?
run_unit keep cnn; check "keep: cnn unit" 0 $?
f=$T/results/keep/dense/r0-f0.json
cp "$f" "$T/keep.ok"
sed -i "s|\"dense\": \"$S/cfg/dense.cfg\"|\"dense\": { \"cfg\": \"$S/cfg/dense.cfg\", \"weights\": \"$T/results/keep/cnn/r0-f0/final.weights\" }|" "$T/keep.json"
grep -q '"weights"' "$T/keep.json" || bad "could not add weights to keep.json"
out=$(cd "$T" && "$D" run keep.json --model dense --repeat 0 --fold 0 2>&1); check "keep: the rerun fails" 1 $?
cmp -s "$f" "$T/keep.ok" && ok "the ok result is untouched" || bad "the ok result was replaced"
contains "the failure is beside it" "$(cat "$T/results/keep/dense/r0-f0.failed.json" 2>/dev/null)" '"status": "failed"'
contains "the finish line gives the reason" "$out" "FAILED after"
contains "the reason is the failure's" "$out" "the pretrained weights do not fit the network"

# report: the dense unit was made from other inputs than keep.json's now.
out=$(cd "$T" && "$D" report keep.json --no-figures 2>&1); check "report refuses a stale unit" 1 $?
contains "the stale file is named" "$out" "error: '$f': stale unit file: its inputs hash is not the current one"
out=$(cd "$T" && "$D" report keep.json --no-figures --allow-stale 2>&1); check "report --allow-stale" 0 $?
contains "the stale file is warned about" "$out" "warning: '$f': stale unit file, reported marked stale"
grep -q '"stale": 1' "$T/results/keep/summary.json" && ok "summary counts the stale unit" || bad "stale count"

# A unit file copied in from another experiment.
write_experiment other 1
mkdir -p "$T/results/other/dense"
cp "$T/keep.ok" "$T/results/other/dense/r0-f0.json"
out=$(cd "$T" && "$D" report other.json --no-figures 2>&1); check "report refuses a foreign unit" 1 $?
contains "the foreign file is named" "$out" "stale unit file: it belongs to experiment 'keep', not 'other'"

# A corrupted ok result is not up to date: run retrains it.
write_experiment corrupt 1
run_unit corrupt dense; check "corrupt: ok unit" 0 $?
f=$T/results/corrupt/dense/r0-f0.json
sed -i 's/"p_anomalous": 0\.\([0-9]\)/"p_anomalous": 0.9\1/' "$f"
out=$(cd "$T" && "$D" run corrupt.json --model dense --repeat 0 --fold 0 2>&1); check "corrupt: rerun" 0 $?
contains "the corruption is named" "$out" "'$f': checksum mismatch"
contains "the unit is retrained" "$out" "started, its result was outdated"

# Nothing finished: report says so instead of drawing empty figures.
write_experiment none 1
mkdir -p "$T/results/none"
out=$(cd "$T" && "$D" report none.json 2>&1); check "report with no finished unit" 1 $?
contains "nothing has finished" "$out" "error: nothing has finished: no unit of 'none.json' has status ok"
exit $fail
