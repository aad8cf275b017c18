#!/usr/bin/env bash
# test_run_lock.sh: two `darkfold run` processes started together on a
# missing synthetic set generate it once (under a lock) and both train on
# the finished set.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-lock-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
cd "$T" || exit 1
cat > lock.json <<'JSON'
{ "name": "lock",
  "dataset": { "root": "data/mvtec", "width": 16, "height": 16, "channels": 3,
               "synthetic": true, "synth_dir": "data/synth-lock", "synth_seed": 7, "synth_size": 32 },
  "models": { "dense": "SRC/cfg/dense.cfg" },
  "cv": { "k": 3, "seed": 7 }, "training": { "epochs": 1, "threads": 1 } }
JSON
sed -i "s|SRC|${SRCDIR:?}|" lock.json
"$D" run lock.json --model dense --repeat 0 --fold 0 >a.out 2>&1 & a=$!
"$D" run lock.json --model dense --repeat 0 --fold 1 >b.out 2>&1 & b=$!
wait $a; ra=$?
wait $b; rb=$?
[ "$ra" = 0 ] && [ "$rb" = 0 ] && echo "ok: both units ran" || { echo "FAIL: exits $ra and $rb"; cat a.out b.out; fail=1; }
n=$(cat a.out b.out | grep -c "generating the synthetic cable set")
[ "$n" = 1 ] && echo "ok: the synthetic set was generated once" || { echo "FAIL: generated $n times"; fail=1; }
for f in results/lock/dense/r0-f0.json results/lock/dense/r0-f1.json; do
  grep -q '"status": "ok"' "$f" 2>/dev/null && echo "ok: $f is ok" || { echo "FAIL: $f"; fail=1; }
done
out=$("$D" plan lock.json 2>&1)
case "$out" in *"2 of 3 units up to date"*) echo "ok: both units are up to date";; *) echo "FAIL: plan: $out" | tail -3; fail=1;; esac
exit $fail
