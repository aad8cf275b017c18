#!/usr/bin/env bash
# test_unit_resume.sh: a unit killed with SIGKILL in the middle of training
# and run again resumes from its checkpoint and ends with the same result
# file as an uninterrupted run (timing and host aside).
. "${SRCDIR:?}/tests/unit_common.sh"

write_experiment resume 12 '"imbalance": "oversample", "augment": { "flip": true, "jitter": 0.1 }'
m=cnn
f=$T/results/resume/$m/r0-f0.json
ck=$T/results/resume/$m/r0-f0/checkpoint
run_unit resume $m; check "uninterrupted run" 0 $?
cp "$f" "$T/uninterrupted.json"

rm -rf "$T/results/resume/$m"
# Own process group, so the kill reaches every process of the run.
(cd "$T" && exec setsid "$D" run resume.json --model $m --repeat 0 --fold 0 >"$T/killed.out" 2>&1) &
pid=$!
while [ ! -e "$ck" ] && [ ! -e "$f" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -9 -- -$pid 2>/dev/null || kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if [ -e "$f" ]; then
  bad "the unit finished before it could be killed; cannot test resuming"
else
  [ -e "$ck" ] && ok "killed after a checkpoint, before the result file" || bad "no checkpoint written"
  ls "$T/results/resume/$m/" | grep -q '\.tmp\.' && bad "temporary files left in the results" || ok "no half-written result file"
  (cd "$T" && "$D" run resume.json --model $m --repeat 0 --fold 0) >"$T/resumed.out" 2>&1
  check "rerun after the kill" 0 $?
  first=$(grep -m1 -o 'epoch [0-9]*/12' "$T/resumed.out")
  [ "$first" != "epoch 1/12" ] && ok "the rerun resumed ($first first)" || bad "the rerun started again from epoch 1"
  if diff <(strip_volatile "$T/uninterrupted.json") <(strip_volatile "$f") >"$T/diff"; then
    ok "resumed unit equals the uninterrupted one"
  else
    bad "resumed unit differs"; head -20 "$T/diff"
  fi
fi
exit $fail
