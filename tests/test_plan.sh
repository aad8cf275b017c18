#!/usr/bin/env bash
# test_plan.sh: `darkfold plan` (table, list, make) and the unit selection
# of `darkfold run`, on a small synthetic dataset; nothing is trained here.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) echo "ok: $1";; *) echo "FAIL: $1: output lacks '$3'"; echo "$2"; fail=1;; esac
}
equals() { # equals DESCRIPTION ACTUAL EXPECTED
  if [ "$2" == "$3" ]; then echo "ok: $1"; else echo "FAIL: $1"; echo "--- got:"; echo "$2"; echo "--- expected:"; echo "$3"; fail=1; fi
}

T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-plan-XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
mkdir -p cfg experiments
: > cfg/small.cfg; : > cfg/big.cfg
# 224 normal (train/good), 92 anomalous (8 defect folders); test/good unused.
"$D" synth --seed 3 --size 32 --out data/mvtec >/dev/null || { echo "FAIL: synth"; exit 1; }
cat > experiments/t.json <<'EOF'
{ "name": "t",
  "dataset": { "synthetic": false, "width": 16, "height": 16 },
  "models": { "small": "cfg/small.cfg", "big": "cfg/big.cfg" },
  "cv": { "k": 3, "seed": 5 } }
EOF

# ---- list: one unit per line, models in the file's order, then repeat, fold
out=$("$D" plan experiments/t.json --format list); check "plan --format list" 0 $?
equals "list names every unit in study order" "$out" "t small 0 0
t small 0 1
t small 0 2
t big 0 0
t big 0 1
t big 0 2"
out=$("$D" plan --format=list experiments/t.json); check "plan --format=list, option first" 0 $?
[ "$(echo "$out" | wc -l)" = 6 ] && echo "ok: 6 units" || { echo "FAIL: expected 6 units"; fail=1; }

# ---- table: fold sizes and class counts
out=$("$D" plan experiments/t.json); check "plan (table)" 0 $?
contains "table names the dataset and class totals" "$out" "316 images, 224 normal, 92 anomalous"
contains "table names the units" "$out" "2 models x 1 repeat x 3 folds = 6"
contains "table says nothing is done" "$out" "0 of 6 units up to date"
# Per row: train + test is the whole set, class by class; the test folds of one
# model partition the set; stratified: 224 normal over 3 folds -> 75,75,74 in
# some order, 92 anomalous -> 31,31,30; inner + val = train.
rows=$(echo "$out" | grep -E '^(small|big) ')
[ "$(echo "$rows" | wc -l)" = 6 ] && echo "ok: 6 table rows" || { echo "FAIL: 6 table rows"; echo "$out"; fail=1; }
bad=$(echo "$rows" | tr '()/' '   ' | awk '
  { trn=$3; trn_n=$4; trn_a=$5; in_n=$7; in_a=$8; va_n=$10; va_a=$11; te=$12; te_n=$13; te_a=$14;
    if (trn_n + te_n != 224 || trn_a + te_a != 92) print "split", $0;
    if (trn != trn_n + trn_a || te != te_n + te_a) print "sum", $0;
    if (in_n + va_n != trn_n || in_a + va_a != trn_a) print "inner", $0;
    if ((te_n != 75 && te_n != 74) || (te_a != 31 && te_a != 30)) print "strata", $0;
    if (va_n < 1 || va_a < 1) print "val", $0;
    tot[$1] += te; n74[$1] += (te_n == 74); a30[$1] += (te_a == 30) }
  END { for (m in tot) { if (tot[m] != 316) print "cover", m; if (n74[m] != 1 || a30[m] != 1) print "strata count", m } }')
[ -z "$bad" ] && echo "ok: fold sizes and class counts add up" || { echo "FAIL: fold sizes: $bad"; echo "$out"; fail=1; }
contains "table shows the state of each unit" "$rows" "pending"
case "$out" in *precision*) echo "FAIL: an fp32 plan mentions the precision"; fail=1;; *) echo "ok: an fp32 plan says nothing of precision";; esac
# A bf16 study is planned on any CPU; only its units need AVX512_BF16.
sed 's/"cv":/"training": { "precision": "bf16" }, "cv":/' experiments/t.json > experiments/tb.json
out=$("$D" plan experiments/tb.json); check "plan of a bf16 study" 0 $?
contains "a bf16 plan says so" "$out" "precision bf16: training's products in bfloat16"
if ! grep -qw avx512_bf16 /proc/cpuinfo; then
  before=$(ls -lR --time-style=+%s results 2>/dev/null)
  "$D" run experiments/tb.json --model small --fold 0 >/dev/null 2>err.txt
  check "a bf16 unit on a CPU without AVX512_BF16" 1 $?
  contains "it names the file and the setting" "$(cat err.txt)" \
    'error: experiments/tb.json: .training.precision: "bf16" needs a CPU with AVX512_BF16'
  [ "$(ls -lR --time-style=+%s results 2>/dev/null)" = "$before" ] \
    && echo "ok: and writes nothing" || { echo "FAIL: a refused bf16 unit wrote files"; fail=1; }
fi

# ---- make: a unit is a target whose output is its result file
"$D" plan experiments/t.json --format make > units.mk; check "plan --format make" 0 $?
mk=$(cat units.mk)
contains "make rule for a unit" "$mk" "results/t/big/r0-f2.json: experiments/t.json cfg/big.cfg \$(DF_DATA_STAMP) \$(DF_BINARY)"
contains "make recipe runs that unit" "$mk" "@\$(DARKFOLD) run experiments/t.json --model big --repeat 0 --fold 2"
contains "make lists one model's units" "$mk" "DF_UNITS_small :="
contains "make has the data folder" "$mk" "DF_DATA_DIR := data/mvtec/cable"

# Drive the rules with a stand-in for darkfold that records what it is asked
# to run and writes the result file.
cat > fake.sh <<'EOF'
#!/bin/sh
# fake.sh run EXP --model M --repeat R --fold F
echo "$4 $6 $8" >> ran.txt
mkdir -p "results/t/$4" && echo "{}" > "results/t/$4/r$6-f$8.json"
EOF
chmod +x fake.sh
make -s -f units.mk df-units DARKFOLD=./fake.sh >/dev/null 2>&1; check "make runs every unit" 0 $?
equals "every unit ran once" "$(sort ran.txt | tr '\n' ' ')" "big 0 0 big 0 1 big 0 2 small 0 0 small 0 1 small 0 2 "
rm -f ran.txt
make -s -f units.mk df-units DARKFOLD=./fake.sh >/dev/null 2>&1; check "make again" 0 $?
[ ! -e ran.txt ] && echo "ok: a second make runs nothing" || { echo "FAIL: second make ran: $(cat ran.txt)"; fail=1; }
touch -d '2030-01-01' cfg/small.cfg
make -s -f units.mk df-units DARKFOLD=./fake.sh >/dev/null 2>&1
equals "a newer cfg remakes only that model's units" "$(sort ran.txt 2>/dev/null | tr '\n' ' ')" "small 0 0 small 0 1 small 0 2 "
rm -f ran.txt
touch -d '2030-01-02' results/t/small/*.json
make -s -f units.mk df-units DARKFOLD=false >/dev/null 2>&1; check "make with nothing to do" 0 $?
# A failing unit keeps its result file but dates it 1970 so it is retried.
rm -f results/t/big/r0-f1.json; echo '{"status": "failed"}' > results/t/big/r0-f1.json
touch -d '2031-01-01' experiments/t.json
make -s -f units.mk results/t/big/r0-f1.json DARKFOLD=false >/dev/null 2>&1; st=$?
[ $st != 0 ] && echo "ok: a failing unit fails make" || { echo "FAIL: make succeeded with a failing unit"; fail=1; }
[ -f results/t/big/r0-f1.json ] && [ "$(stat -c %Y results/t/big/r0-f1.json)" = 0 ] \
  && echo "ok: the failed unit's file is kept and dated 1970" \
  || { echo "FAIL: failed unit's file: $(ls -l --time-style=+%s results/t/big/ 2>&1)"; fail=1; }
# A change in the data (a new image) changes the data stamp.
sig1=$(cat results/t/data.sig)
cp data/mvtec/cable/test/combined/000.png data/mvtec/cable/test/combined/900.png || fail=1
"$D" plan experiments/t.json --format make > units.mk
make -s -f units.mk results/t/data.sig >/dev/null 2>&1
sig2=$(cat results/t/data.sig)
[ -n "$sig1" ] && [ "$sig1" != "$sig2" ] && echo "ok: a new image changes the data stamp" \
  || { echo "FAIL: data stamp '$sig1' -> '$sig2'"; fail=1; }

# ---- bad input: one line naming the problem
"$D" plan >/dev/null 2>err.txt; check "plan without an experiment" 2 $?
contains "says what is missing" "$(cat err.txt)" "no experiment given"
"$D" plan experiments/t.json --format yaml >/dev/null 2>err.txt; check "plan --format yaml" 2 $?
contains "names the format" "$(cat err.txt)" "expected table, list or make, got 'yaml'"
"$D" plan experiments/none.json >/dev/null 2>err.txt; check "plan of a missing file" 1 $?
contains "names the file" "$(cat err.txt)" "cannot open 'experiments/none.json'"
printf '{ "cv": { "k": "five" } }' > experiments/bad.json
"$D" plan experiments/bad.json >/dev/null 2>err.txt; check "plan of a bad experiment" 1 $?
equals "bad experiment: one line with the JSON path" "$(cat err.txt)" \
  'error: experiments/bad.json: .cv.k: expected an integer from 2 to 1000, got "five"'
printf '{ "training": { "precision": "fp16" } }' > experiments/bad.json
"$D" plan experiments/bad.json >/dev/null 2>err.txt; check "plan of an unknown precision" 1 $?
equals "unknown precision: one line with the JSON path" "$(cat err.txt)" \
  'error: experiments/bad.json: .training.precision: expected one of "fp32" or "bf16", got "fp16"'
mv data/mvtec data/elsewhere
"$D" plan experiments/t.json >/dev/null 2>err.txt; check "plan with the dataset missing" 1 $?
contains "names the missing root" "$(cat err.txt)" "data/mvtec"
MVTEC_ROOT=data/elsewhere "$D" plan experiments/t.json --format list >/dev/null 2>&1; check "MVTEC_ROOT" 0 $?
out=$(MVTEC_ROOT=data/elsewhere "$D" plan experiments/t.json 2>&1)
contains "MVTEC_ROOT replaces the root" "$out" "dataset  data/elsewhere/cable"
mv data/elsewhere data/mvtec

"$D" run experiments/t.json --model nosuch >/dev/null 2>err.txt; check "run --model nosuch" 1 $?
contains "lists the models" "$(cat err.txt)" "no model 'nosuch' (models: small, big)"
"$D" run experiments/t.json --fold 3 >/dev/null 2>err.txt; check "run --fold 3" 1 $?
contains "names the fold range" "$(cat err.txt)" "no fold 3 (folds are 0 to 2)"
"$D" run experiments/t.json --repeat x >/dev/null 2>err.txt; check "run --repeat x" 2 $?
contains "names the bad value" "$(cat err.txt)" "--repeat: expected a non-negative integer, got 'x'"
"$D" run >/dev/null 2>&1; check "run without an experiment" 2 $?
"$D" run experiments/t.json --frob >/dev/null 2>&1; check "run --frob" 2 $?
# ---- the cost estimate, from costs.json beside the cfgs. By hand: the
# training folds of the 3 units of model small hold 316 - (106 + 105 + 105)
# = 632 images in all; 0.5 s per image and epoch measured at 8x8, run at
# 16x16 (4 times the pixels) for 2 epochs: 0.5 * 632 * 2 * 4 = 2528 s =
# 0.702 CPU hours. Model big has no measured cost.
sed 's/"cv"/"training": { "epochs": 2 }, "cv"/' experiments/t.json > experiments/t2.json
out=$("$D" plan experiments/t2.json); check "plan without costs.json" 0 $?
contains "no cost without costs.json" "$out" "estimated cost: unknown"
echo '{ "models": { "small.cfg": { "seconds_per_image_epoch": 0.5, "width": 8, "height": 8 } } }' > cfg/costs.json
out=$("$D" plan experiments/t2.json); check "plan with costs.json" 0 $?
contains "CPU hours worked out by hand" "$out" "estimated cost: 0.7 CPU hours for all units (one core each, 2 epochs each, or the model's own)"
contains "names the model without a cost" "$out" "not counted, no measured cost: big"
echo '{ "models": { "small.cfg": { "seconds_per_image_epoch": "fast", "width": 8, "height": 8 } } }' > cfg/costs.json
"$D" plan experiments/t2.json >/dev/null 2>err.txt; check "plan with a bad costs.json" 1 $?
contains "the error names the file and the JSON path" "$(cat err.txt)" \
  "cfg/costs.json: .models.\"small.cfg\".seconds_per_image_epoch: expected a positive number"
rm cfg/costs.json
exit $fail
