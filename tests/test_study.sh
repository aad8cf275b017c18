#!/usr/bin/env bash
# test_study.sh: the smoke study end to end through Makefile.bench (units as
# make targets, report, figures, the summary line), then resuming: a second
# run trains nothing, a deleted result retrains only its unit (and gives the
# same file), a changed cfg retrains only that model's units, --force, and a
# unit that fails.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
S=${SRCDIR:?SRCDIR must name the source tree}
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) echo "ok: $1";; *) echo "FAIL: $1: output lacks '$3'"; echo "$2" | tail -40; fail=1;; esac
}
equals() { # equals DESCRIPTION ACTUAL EXPECTED
  if [ "$2" == "$3" ]; then echo "ok: $1"; else echo "FAIL: $1"; echo "--- got:"; echo "$2"; echo "--- expected:"; echo "$3"; fail=1; fi
}
# The units a darkfold run output started, as "model unit" lines, sorted.
started() { echo "$1" | sed -n 's/^run: smoke \([^ ]*\) \(r[0-9]*-f[0-9]*\): started.*/\1 \2/p' | sort; }
# A result file without its timing and host objects (the only parts that may
# differ between two runs of the same unit).
stable() { sed '/^  "timing": {/,/^  }/d; /^  "host": {/,/^  }/d; /^  "checksum": /d' "$1"; }
sums() { sha256sum results/smoke/*/r*-f*.json; }

T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-study-XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
mkdir experiments
cp -r "$S/cfg" cfg
cp "$S/experiments/smoke.json" experiments/
MK=(make --no-print-directory -f "$S/Makefile.bench" DARKFOLD="$D")

# ---- the whole smoke study through make
out=$("${MK[@]}" quick 2>&1); st=$?
check "make quick" 0 $st
contains "the plan is shown" "$out" "0 of 6 units up to date"
contains "the synthetic set is generated" "$out" "data: generating the synthetic cable set in 'data/synth-smoke/cable'"
contains "the fallback is announced" "$out" "note: experiments/smoke.json: dataset 'data/mvtec/cable' not found; using the synthetic cable set in 'data/synth-smoke'"
n_notes=$(echo "$out" | grep -c "^note: .*not found; using the synthetic")
[ "$n_notes" = 1 ] && echo "ok: the fallback is announced once" || { echo "FAIL: $n_notes fallback notes"; fail=1; }
equals "every unit started once" "$(started "$out")" "cnn r0-f0
cnn r0-f1
cnn r0-f2
dense r0-f0
dense r0-f1
dense r0-f2"
contains "a unit's finish line counts units done" "$out" "/6 done"
contains "the last unit finishes the study" "$out" "(6/6 done)"
contains "epoch lines come from the units" "$out" "epoch 3/3"
contains "summary line gives the verdict by the primary metric" "$out" "study: verdict by auroc: "
contains "summary line names the report" "$out" "; report: results/smoke/report.md"
last=$(echo "$out" | tail -1)
case "$last" in "study: verdict by auroc: "*) echo "ok: the summary line is the last line";; *) echo "FAIL: last line: $last"; fail=1;; esac
# the line follows summary.json's verdict: its outcome and its models
outcome=$(sed -n '/^  "verdict": {/,/^  }/s/^    "outcome": "\(.*\)",$/\1/p' results/smoke/summary.json)
models=$(sed -n '/^    "models": \[$/,/^    \]/s/^      "\(.*\)",\{0,1\}$/\1/p' results/smoke/summary.json | paste -sd, - | sed 's/,/, /g')
case "$outcome" in
  clear_winner) want="study: verdict by auroc: $models is the best model;";;
  tie) want="study: verdict by auroc: no model is separated; tied at the top: $models;";;
  no_model_beats_baseline) want="study: verdict by auroc: no model beats the best baseline (";;
  *) want="(outcome '$outcome' unknown)";;
esac
case "$last" in "$want"*) echo "ok: the last line follows the verdict ($outcome: $models)";; *) echo "FAIL: '$last' does not start with '$want'"; fail=1;; esac
[ -n "$models" ] && echo "ok: the verdict names models" || { echo "FAIL: no models in the verdict"; fail=1; }
# The model with the highest mean AUROC, worked out from the unit files
# (Mann-Whitney with midranks on p_anomalous), is among those the verdict names.
top=$(python3 - results/smoke <<'PY'
import glob, json, sys
means = {}
for m in ("dense", "cnn"):
    a = []
    for path in sorted(glob.glob("%s/%s/r0-f*.json" % (sys.argv[1], m))):
        u = json.load(open(path))
        if u["status"] != "ok":
            continue
        pos = [q["p_anomalous"] for q in u["predictions"] if q["label"] == 1]
        neg = [q["p_anomalous"] for q in u["predictions"] if q["label"] == 0]
        a.append(sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in pos for y in neg) / (len(pos) * len(neg)))
    if len(a) >= 2:
        means[m] = sum(a) / len(a)
print(max(means, key=means.get))
PY
)
case ", $models," in *", $top,"*) echo "ok: the verdict names the model with the highest mean AUROC ($top)";; *) echo "FAIL: the verdict's models ($models) lack $top, the highest mean AUROC"; fail=1;; esac
for m in dense cnn; do for f in 0 1 2; do
  r=results/smoke/$m/r0-f$f.json
  grep -q '"status": "ok"' "$r" 2>/dev/null && echo "ok: $r is ok" || { echo "FAIL: $r missing or not ok"; fail=1; }
done; done
for f in results/smoke/summary.json results/smoke/report.md results/smoke/summary.csv results/smoke/summary.md; do
  [ -s "$f" ] && echo "ok: $f written" || { echo "FAIL: $f missing"; fail=1; }
done
n_png=$(ls results/smoke/figures/*.png 2>/dev/null | wc -l)
[ "$n_png" -ge 1 ] && echo "ok: $n_png figures" || { echo "FAIL: no figures"; fail=1; }
before=$(sums)

# ---- a second study trains nothing and changes nothing
out=$("${MK[@]}" quick 2>&1); check "make quick again" 0 $?
equals "the second study starts no unit" "$(started "$out")" ""
contains "the second study still ends with the summary line" "$out" "$last"
contains "the plan says everything is done" "$out" "6 of 6 units up to date"
equals "no result file changed" "$(sums)" "$before"
out=$("$D" run experiments/smoke.json 2>&1); check "darkfold run with everything done" 0 $?
equals "run starts no unit" "$(started "$out")" ""
contains "run says up to date" "$out" "run: smoke dense r0-f0: up to date"
contains "run sums up" "$out" "6 units: 0 trained, 6 up to date, 0 failed"

# ---- tables and figures from existing results, without training
rm -f results/smoke/summary.md results/smoke/figures/*.png
out=$("${MK[@]}" tables EXP=experiments/smoke.json 2>&1); check "make tables" 0 $?
[ -s results/smoke/summary.md ] && echo "ok: tables rewritten" || { echo "FAIL: tables"; fail=1; }
[ -z "$(ls results/smoke/figures/*.png 2>/dev/null)" ] && echo "ok: tables draws no figures" || { echo "FAIL: tables drew figures"; fail=1; }
out=$("${MK[@]}" figures EXP=experiments/smoke.json 2>&1); check "make figures" 0 $?
[ -n "$(ls results/smoke/figures/*.png 2>/dev/null)" ] && echo "ok: figures redrawn" || { echo "FAIL: figures"; fail=1; }
equals "tables and figures train nothing" "$(sums)" "$before"

# ---- resume: a deleted result file retrains only its unit, identically
stable results/smoke/cnn/r0-f1.json > cnn-r0-f1.before
rm results/smoke/cnn/r0-f1.json
out=$("${MK[@]}" quick 2>&1); check "make quick after deleting a result" 0 $?
equals "only the deleted unit is retrained" "$(started "$out")" "cnn r0-f1"
if stable results/smoke/cnn/r0-f1.json | cmp -s - cnn-r0-f1.before; then
  echo "ok: the retrained unit's result is identical apart from timing and host"
else
  echo "FAIL: the retrained unit differs"; stable results/smoke/cnn/r0-f1.json | diff - cnn-r0-f1.before | head; fail=1
fi
equals "the other results are untouched" "$(sums | grep -v cnn/r0-f1)" "$(echo "$before" | grep -v cnn/r0-f1)"

# ---- a changed cfg retrains only that model's units
before=$(sums)
sed -i 's/^learning_rate=.*/learning_rate=0.002/' cfg/dense.cfg
grep -q '^learning_rate=0.002' cfg/dense.cfg || { echo "FAIL: could not change cfg/dense.cfg"; fail=1; }
out=$("$D" run experiments/smoke.json 2>&1); check "run after changing cfg/dense.cfg" 0 $?
equals "only dense's units are retrained" "$(started "$out")" "dense r0-f0
dense r0-f1
dense r0-f2"
contains "they were outdated" "$out" "dense r0-f0: started, its result was outdated"
equals "cnn's results are untouched" "$(sums | grep cnn/)" "$(echo "$before" | grep cnn/)"
# make sees the newer cfg, asks darkfold, which retrains nothing more
touch cfg/cnn.cfg
out=$("${MK[@]}" quick 2>&1); check "make quick after touching cfg/cnn.cfg" 0 $?
equals "a touched but unchanged cfg retrains nothing" "$(started "$out")" ""
contains "those units are only checked" "$out" "run: smoke cnn r0-f2: up to date"

# ---- --force retrains the selected unit from scratch
out=$("$D" run experiments/smoke.json --model cnn --fold 2 --force 2>&1); check "run --force" 0 $?
equals "--force retrains just that unit" "$(started "$out")" "cnn r0-f2"

# ---- a unit that fails: exit 1, the others still run, the plan shows it
printf '[net]\nwidth=16\nheight=16\nchannels=3\n\n[convolutionl]\nfilters=2\n' > cfg/broken.cfg
sed 's/"cnn": "cfg\/cnn.cfg"/"cnn": "cfg\/cnn.cfg", "broken": "cfg\/broken.cfg"/' experiments/smoke.json > experiments/smoke-broken.json
sed -i 's/"name": "smoke"/"name": "smoke-broken"/' experiments/smoke-broken.json
out=$("$D" run experiments/smoke-broken.json --fold 0 2>&1); check "run with a broken model" 1 $?
contains "the failed unit says so and why" "$out" "run: smoke-broken broken r0-f0: FAILED"
contains "the broken cfg is named" "$out" "cfg/broken.cfg"
grep -q '"status": "ok"' results/smoke-broken/cnn/r0-f0.json 2>/dev/null && echo "ok: other units still ran" || { echo "FAIL: cnn r0-f0 did not run"; fail=1; }
contains "the run sums up the failure" "$out" "3 units: 2 trained, 0 up to date, 1 failed"
out=$("$D" plan experiments/smoke-broken.json 2>&1)
contains "the plan shows the failed unit" "$(echo "$out" | grep '^broken *r0-f0')" "failed"

exit $fail
