#!/usr/bin/env bash
# test_unit_lock.sh: a unit holds an exclusive lock while it trains. Two
# concurrent `darkfold run` of one unit give one result and one refusal with
# exit status 3; `darkfold plan` shows the unit as running meanwhile; a
# killed holder leaves no stale lock.
. "${SRCDIR:?}/tests/unit_common.sh"

write_experiment lock 400
m=cnn
f=$T/results/lock/$m/r0-f0.json
lk=$T/results/lock/$m/r0-f0.lock

# start_first: a run of the unit in the background (own process group), and
# wait until it trains (its first epoch line), so that it holds the lock.
start_first() {
  (cd "$T" && exec setsid "$D" run lock.json --model $m --repeat 0 --fold 0 >"$T/first.out" 2>&1) &
  pid=$!
  while ! grep -q 'epoch 1/400' "$T/first.out" 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 0.05; done
}

start_first
if ! kill -0 $pid 2>/dev/null; then
  bad "the first run ended before a second could start; cannot test the lock"; cat "$T/first.out"; exit 1
fi
[ -e "$lk" ] && ok "the lock file sits beside the result" || bad "no lock file '$lk'"
plan=$(cd "$T" && "$D" plan lock.json)
contains "plan shows the unit as running" "$(echo "$plan" | grep "^$m .*r0-f0")" "running"
contains "plan shows the other units as pending" "$(echo "$plan" | grep "^$m .*r0-f1")" "pending"

(cd "$T" && "$D" run lock.json --model $m --repeat 0 --fold 0) >"$T/second.out" 2>&1
check "second run of the same unit is refused with exit 3" 3 $?
contains "the refusal says why and names the lock" "$(cat "$T/second.out")" \
  "cnn r0-f0: not run: another process is training it (it holds '$lk')"
grep -q 'epoch ' "$T/second.out" && bad "the refused run trained" || ok "the refused run did not train"
kill -0 $pid 2>/dev/null && ok "the refusal came while the first run still trained" ||
  bad "the first run had ended before the refusal"

wait $pid; check "the first run finishes" 0 $?
[ -e "$f" ] && grep -q '"status": "ok"' "$f" && ok "one result, status ok" || bad "no ok result after the first run"
[ "$(ls "$T/results/lock/$m" | grep -c '^r0-f0\.json')" = 1 ] && ok "exactly one result file" || bad "result files: $(ls "$T/results/lock/$m")"
(cd "$T" && "$D" run lock.json --model $m --repeat 0 --fold 0) >"$T/third.out" 2>&1
check "a run after the holder finished is not refused" 0 $?
contains "it finds the unit up to date" "$(cat "$T/third.out")" "up to date"
plan=$(cd "$T" && "$D" plan lock.json)
contains "plan shows the finished unit as done" "$(echo "$plan" | grep "^$m .*r0-f0")" "done"

# A holder killed with SIGKILL leaves no stale lock: the next run trains
# (resuming from the checkpoint if one was written).
rm -f "$f"
start_first
kill -9 -- -$pid 2>/dev/null; wait $pid 2>/dev/null
(cd "$T" && "$D" run lock.json --model $m --repeat 0 --fold 0) >"$T/after-kill.out" 2>&1
check "a run after the holder was killed trains the unit" 0 $?
[ -e "$f" ] && ok "result written after the kill" || bad "no result after the kill"

# A lock file that cannot be opened is an error (exit 1), not a refusal.
if [ "$(id -u)" != 0 ]; then
  rm -f "$f"; chmod 000 "$lk"
  (cd "$T" && "$D" run lock.json --model $m --repeat 0 --fold 0) >"$T/perm.out" 2>&1
  check "an unreadable lock file fails the unit" 1 $?
  contains "the error names the lock file" "$(cat "$T/perm.out")" "cannot open lock file '$lk'"
  chmod 644 "$lk"
fi
exit $fail
