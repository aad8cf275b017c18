#!/usr/bin/env bash
# test_slurm.sh: the smoke study through a real single-node Slurm on this
# machine (munge, slurmctld, slurmd on loopback; config in tests/slurm/):
# `darkfold submit` runs every unit as one job array and the report after it,
# with the same summary.json as `make quick` (timing and host aside); a task
# cancelled with scancel in mid-training leaves its checkpoint, and a second
# submit runs only the missing unit, resumes it and finishes the study.
# Needs root (to install and start the daemons); skips otherwise. Every
# daemon is stopped by its process id at the end.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
S=${SRCDIR:?SRCDIR must name the source tree}
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: starting munge, slurmctld and slurmd needs root (run as root, or see docs/scaling.md)"
  exit 77
fi
D=$(readlink -f "$D")
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
check() { if [ "$2" != "$3" ]; then bad "$1: expected exit $2, got $3"; else ok "$1"; fi; }
contains() { case "$2" in *"$3"*) ok "$1";; *) bad "$1: output lacks '$3'"; printf '%s\n' "$2" | tail -20;; esac; }
# A JSON file without its "timing" and "host" objects and "unit_times"
# arrays at any depth, and without the timing and host fields summary.json
# copies into "provenance" (the only parts that differ between two runs of
# the same study).
stable() {
  awk 'skip { if ($0 ~ "^" ind "[]}]") skip = 0; next }
       /^ *"(timing|host)": \{/ || /^ *"unit_times": \[/ { match($0, /^ */); ind = substr($0, 1, RLENGTH);
         if ($0 !~ /[]}],?$/) skip = 1; next }
       /^ *"(wall_seconds_total|first_started|last_finished|blas_core|blas_threads|cpu|hostname)":/ { next }
       { print }' "$1"
}

make -s --no-print-directory -f "$S/Makefile.bench" -C "$S" slurm-deps ||
  { echo "FAIL: cannot install the Slurm and munge packages (make -f Makefile.bench slurm-deps)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-slurm-XXXXXX")
chmod 755 "$T"
pids=()
cleanup() {
  local p
  [ -f "$T/munge/munged.pid" ] && pids+=("$(cat "$T/munge/munged.pid")")
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT

# ---- a single-node cluster on loopback
mkdir -p "$T/munge" "$T/state" "$T/spool"
chown munge:munge "$T/munge"
port=$((20000 + $$ % 20000))
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024 / 2) }' /proc/meminfo)
sed -e "s|@HOST@|$(hostname -s)|g; s|@CTLD_PORT@|$port|; s|@SLURMD_PORT@|$((port + 1))|" \
    -e "s|@DIR@|$T|g; s|@CPUS@|$(nproc)|; s|@MEM_MB@|$mem_mb|" "$S/tests/slurm/slurm.conf.in" > "$T/slurm.conf"
cp "$S/tests/slurm/cgroup.conf" "$T/"
export SLURM_CONF=$T/slurm.conf
runuser -u munge -- /usr/sbin/munged --foreground --socket="$T/munge/munge.socket" \
  --key-file=/etc/munge/munge.key --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" \
  --seed-file="$T/munge/seed" >"$T/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$T/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$T/munge/munge.socket" ] || { bad "munged did not start"; cat "$T/munged.out"; exit 1; }
/usr/sbin/slurmctld -D -i >"$T/slurmctld.out" 2>&1 &
pids+=($!)
/usr/sbin/slurmd -D >"$T/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break; sleep 0.1; done
[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && ok "slurm is up: one idle node" ||
  { bad "the node did not come up"; tail -5 "$T/slurmctld.log" "$T/slurmd.log"; exit 1; }

# wait_jobs ID...: until none of the jobs is queued or running (at most 10 min).
wait_jobs() {
  local ids; ids=$(IFS=,; echo "$*")
  for _ in $(seq 6000); do [ -z "$(squeue -h -j "$ids" 2>/dev/null)" ] && return 0; sleep 0.1; done
  bad "jobs $ids still queued after 10 minutes"; squeue; return 1
}
# job_id OUTPUT WHAT: the id printed on the "submit: WHAT: job N" line.
job_id() { printf '%s\n' "$1" | sed -n "s/^submit: $2: job \([0-9]*\).*/\1/p"; }
project() { mkdir -p "$1/experiments" && cp -r "$S/cfg" "$1/cfg" && cp "$S/experiments/smoke.json" "$1/experiments/"; }

# ---- the smoke study through make, then through Slurm
project "$T/plain"
(cd "$T/plain" && make --no-print-directory -f "$S/Makefile.bench" DARKFOLD="$D" quick) >"$T/plain.out" 2>&1
check "make quick (the reference)" 0 $?
project "$T/sl"
out=$(cd "$T/sl" && "$D" submit experiments/smoke.json 2>&1); check "darkfold submit" 0 $?
contains "one array of the 6 units" "$out" "smoke: 6 of 6 units pending: job array of 6 tasks"
contains "says where the logs go" "$out" "logs results/smoke/slurm/"
contains "says where the results go" "$out" "results in results/smoke/"
aid=$(job_id "$out" units); rid=$(job_id "$out" report)
[ -n "$aid" ] && [ -n "$rid" ] && ok "job ids printed ($aid, report $rid)" || { bad "no job ids"; echo "$out"; exit 1; }
dep=$(scontrol show job "$rid" | grep -o 'Dependency=[^ ]*')
case "$dep" in *"afterany:${aid}"*) ok "the report waits for the array (afterany)";;
  *) [ -f "$T/sl/results/smoke/report.md" ] && ok "report already ran" || bad "report dependency: '$dep'";; esac
wait_jobs "$aid" "$rid"
n_logs=$(ls "$T/sl/results/smoke/slurm/" | grep -c "^${aid}_[0-9]*\.out$")
[ "$n_logs" = 6 ] && ok "6 task logs" || bad "$n_logs task logs"
[ -f "$T/sl/results/smoke/report.md" ] && ok "the report job wrote the report" || bad "no report"
if diff <(stable "$T/plain/results/smoke/summary.json") <(stable "$T/sl/results/smoke/summary.json") >"$T/diff"; then
  ok "summary.json through Slurm equals make quick's (timing and host aside)"
else
  bad "summary.json differs"; head -20 "$T/diff"
fi
out=$(cd "$T/sl" && "$D" submit experiments/smoke.json 2>&1); check "submit again" 0 $?
contains "nothing left to submit" "$out" "no pending unit (all 6 done or running); nothing submitted"

# ---- a task cancelled in mid-training, then resubmitted
project "$T/kill"
sed -e 's/"name": "smoke"/"name": "kill"/' -e 's/"epochs": 3/"epochs": 60/' \
    -e 's/"dense": "cfg\/dense.cfg",//' "$S/experiments/smoke.json" > "$T/kill/experiments/kill.json"
out=$(cd "$T/kill" && "$D" submit experiments/kill.json 2>&1); check "submit the long study" 0 $?
aid=$(job_id "$out" units); rid=$(job_id "$out" report)
ck=$T/kill/results/kill/cnn/r0-f0/checkpoint
for _ in $(seq 6000); do [ -e "$ck" ] && break; sleep 0.1; done
if [ ! -e "$ck" ] || [ -e "$T/kill/results/kill/cnn/r0-f0.json" ]; then
  bad "could not catch task 0 in mid-training"
else
  scancel "${aid}_0"; ok "cancelled task ${aid}_0 after its first checkpoint"
fi
wait_jobs "$aid" "$rid"
# scancel sends SIGTERM: the unit stops after its batch and records status
# "interrupted" (docs/training.md); it must not count as done.
r0=$T/kill/results/kill/cnn/r0-f0.json
grep -q '"status": "interrupted"' "$r0" 2>/dev/null && ok "the cancelled unit is recorded as interrupted" ||
  bad "the cancelled unit is not recorded as interrupted: $(grep '"status"' "$r0" 2>/dev/null || echo 'no result file')"
[ -e "$ck" ] && ok "its checkpoint is kept" || bad "its checkpoint is gone"
plan=$(cd "$T/kill" && "$D" plan experiments/kill.json 2>&1)
contains "plan: the cancelled unit is pending" "$(echo "$plan" | grep '^cnn .*r0-f0')" "pending"
contains "plan: the others are done" "$plan" "2 of 3 units up to date"
out=$(cd "$T/kill" && "$D" submit experiments/kill.json 2>&1); check "resubmit" 0 $?
contains "only the missing unit is submitted" "$out" "kill: 1 of 3 units pending: job array of 1 task"
aid2=$(job_id "$out" units); rid2=$(job_id "$out" report)
wait_jobs "$aid2" "$rid2"
log=$T/kill/results/kill/slurm/${aid2}_0.out
first=$(grep -m1 -o 'epoch [0-9]*/60' "$log")
[ -n "$first" ] && [ "$first" != "epoch 1/60" ] && ok "the resubmitted task resumed ($first first)" ||
  { bad "the resubmitted task did not resume (first: '$first')"; tail -5 "$log"; }
plan=$(cd "$T/kill" && "$D" plan experiments/kill.json 2>&1)
contains "the study is finished" "$plan" "3 of 3 units up to date"
[ -f "$T/kill/results/kill/report.md" ] && grep -q '"failed": 0' "$T/kill/results/kill/summary.json" &&
  ok "the report counts no failed unit" || bad "report after resubmission"
exit $fail
