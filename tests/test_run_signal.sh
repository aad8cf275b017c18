#!/usr/bin/env bash
# test_run_signal.sh: SIGTERM on `darkfold run` reaches the unit's process,
# which stops, keeps its last checkpoint and writes a result file with status
# interrupted; no process is left training; a rerun resumes and ends like an
# uninterrupted run.
. "${SRCDIR:?}/tests/unit_common.sh"

write_experiment sig 12
m=cnn
f=$T/results/sig/$m/r0-f0.json
ck=$T/results/sig/$m/r0-f0/checkpoint
run_unit sig $m; check "uninterrupted run" 0 $?
cp "$f" "$T/uninterrupted.json"
rm -rf "$T/results/sig/$m"

(cd "$T" && exec "$D" run sig.json --model $m --repeat 0 --fold 0 >"$T/term.out" 2>&1) &
pid=$!
while [ ! -e "$ck" ] && [ ! -e "$f" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
child=$(pgrep -P $pid)
kill -TERM $pid
wait $pid; rc=$?
if [ -e "$f" ] && grep -q '"status": "ok"' "$f"; then
  bad "the unit finished before the signal; cannot test it"; exit 1
fi
check "run exits 1 when interrupted" 1 $rc
[ -n "$child" ] && ok "the unit ran in a child process ($child)" || bad "no child process seen"
sleep 0.2
[ -n "$child" ] && kill -0 "$child" 2>/dev/null && { bad "the unit's process $child is still running"; kill -9 "$child"; } || ok "no orphan left training"
txt=$(cat "$f" 2>/dev/null)
contains "result says interrupted" "$txt" '"status": "interrupted"'
contains "reason names the signal" "$txt" 'interrupted by signal 15 (Terminated) after epoch'
contains "run says interrupted" "$(cat "$T/term.out")" "run: sig: interrupted by signal 15"
[ -s "$ck" ] && ok "the checkpoint is kept" || bad "no checkpoint after the signal"
ls "$T/results/sig/$m/" "$T/results/sig/$m/r0-f0" | grep -q '\.tmp\.' && bad "temporary files left" || ok "no half-written file"

(cd "$T" && "$D" run sig.json --model $m --repeat 0 --fold 0) >"$T/resumed.out" 2>&1
check "rerun after the signal" 0 $?
first=$(grep -m1 -o 'epoch [0-9]*/12' "$T/resumed.out")
[ "$first" != "epoch 1/12" ] && ok "the rerun resumed ($first first)" || bad "the rerun started again from epoch 1"
if diff <(strip_volatile "$T/uninterrupted.json") <(strip_volatile "$f") >"$T/diff"; then
  ok "resumed unit equals the uninterrupted one"
else
  bad "resumed unit differs"; head -20 "$T/diff"
fi
exit $fail
