#!/usr/bin/env bash
# test_submit.sh: `darkfold submit` against a stand-in sbatch that records its
# arguments: one array over the pending units, the report after it
# (afterany), options passed through, the job scripts, and its errors. The
# real Slurm run is tests/test_slurm.sh.
. "${SRCDIR:?}/tests/unit_common.sh"

write_experiment sub 1 '"threads": 2'
mkdir -p "$T/bin"
cat > "$T/bin/sbatch" <<'SH'
#!/bin/sh
# Records one line per call; prints job ids 101, 102, ...; FAIL_SBATCH=1 fails.
[ -n "${FAIL_SBATCH:-}" ] && { echo "sbatch: error: invalid partition specified" >&2; exit 1; }
echo "$*" >> "$SBATCH_LOG"
echo $((100 + $(wc -l < "$SBATCH_LOG")))
SH
chmod +x "$T/bin/sbatch"
export SBATCH_LOG=$T/sbatch.log PATH=$T/bin:$PATH
sub() { (cd "$T" && "$D" submit "$@") >"$T/out" 2>&1; }
sl=$T/results/sub/slurm

sub sub.json --partition p1 --time 01:00:00 --account acc --max-running 2; check "submit" 0 $?
out=$(cat "$T/out")
contains "4 units pending" "$out" "sub: 4 of 4 units pending: job array of 4 tasks ($sl/units-1.sh)"
contains "prints the array's job id" "$out" "submit: units: job 101, tasks 101_0 to 101_3; logs $sl/101_<task>.out"
contains "prints the report's job id" "$out" "submit: report: job 102, after every task of job 101 has ended (afterany)"
a=$(sed -n 1p "$SBATCH_LOG"); r=$(sed -n 2p "$SBATCH_LOG")
contains "array of 4 tasks, at most 2 at once" "$a" "--array=0-3%2"
contains "cpus per task from training.threads" "$a" "--cpus-per-task=2"
contains "memory estimated" "$a" "--mem="
contains "partition passed" "$a" "--partition=p1"
contains "time passed" "$a" "--time=01:00:00"
contains "account passed" "$a" "--account=acc"
contains "task logs" "$a" "--output=$sl/%A_%a.out"
contains "the report waits for the array" "$r" "--dependency=afterany:101"
contains "the report runs report-1.sh" "$r" "$sl/report-1.sh"
sc=$(cat "$sl/units-1.sh")
contains "task 3 is the 4th unit" "$sc" "3) set -- cnn 0 1 ;;"
contains "BLAS threads from training.threads" "$sc" "export OPENBLAS_NUM_THREADS=2"
# Run the task script as Slurm would for task 0: it trains dense r0-f0.
(cd / && SLURM_ARRAY_TASK_ID=0 sh "$sl/units-1.sh") >"$T/task.out" 2>&1; check "task 0 runs" 0 $?
[ -f "$T/results/sub/dense/r0-f0.json" ] && ok "task 0 wrote dense r0-f0" || { bad "task 0 result"; tail "$T/task.out"; }
(cd / && SLURM_ARRAY_TASK_ID=9 sh "$sl/units-1.sh") >"$T/task.out" 2>&1; check "a task without a unit" 2 $?

# Only the units not done are submitted; the scripts get a new number.
: > "$SBATCH_LOG"
sub sub.json --mem 3G; check "resubmit" 0 $?
contains "3 units left" "$(cat "$T/out")" "sub: 3 of 4 units pending: job array of 3 tasks ($sl/units-2.sh)"
contains "--mem passed as given" "$(sed -n 1p "$SBATCH_LOG")" "--mem=3G"
grep -q "memory per task" "$T/out" && bad "estimated although --mem was given" || ok "no estimate printed with --mem"

# --dry-run submits nothing.
: > "$SBATCH_LOG"
sub sub.json --dry-run; check "dry run" 0 $?
contains "dry run prints the array command" "$(cat "$T/out")" "sbatch --parsable --job-name=darkfold-sub --array=0-2"
[ -s "$SBATCH_LOG" ] && bad "dry run called sbatch" || ok "dry run did not call sbatch"

# Errors.
FAIL_SBATCH=1 sub sub.json; check "sbatch fails" 1 $?
contains "says sbatch failed" "$(cat "$T/out")" "error: 'sbatch' failed (exit status 1); nothing more was submitted"
contains "sbatch's own message passes through" "$(cat "$T/out")" "invalid partition specified"
sub sub.json --max-running 0; check "--max-running 0" 2 $?
contains "names the bad value" "$(cat "$T/out")" "--max-running: expected a positive integer, got '0'"
sub sub.json --time; check "--time without a value" 2 $?
sub sub.json --frob; check "unknown option" 2 $?
sub; check "no experiment" 2 $?
sub missing.json; check "missing experiment" 1 $?
exit $fail
