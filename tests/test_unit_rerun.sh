#!/usr/bin/env bash
# test_unit_rerun.sh: training the same unit twice from scratch gives the
# same result file, byte for byte apart from the timing and host objects;
# changing the seed changes it.
. "${SRCDIR:?}/tests/unit_common.sh"

write_experiment twice 2 '"imbalance": "oversample", "augment": { "flip": true, "rot90": true, "jitter": 0.1 }'
for m in dense cnn; do
  f=$T/results/twice/$m/r0-f0.json
  run_unit twice $m; check "$m: first run" 0 $?
  cp "$f" "$T/first.json"
  run_unit twice $m; check "$m: second run" 0 $?
  if diff <(strip_volatile "$T/first.json") <(strip_volatile "$f") >"$T/diff"; then
    ok "$m: identical apart from timing and host"
  else
    bad "$m: reruns differ"; head -20 "$T/diff"
  fi
  grep -q '"timing": {' "$f" && grep -q '"host": {' "$f" && ok "$m: timing and host present" || bad "$m: timing/host"
  [ "$(strip_volatile "$f" | wc -l)" -lt "$(wc -l < "$f")" ] || bad "$m: nothing stripped"
done

# Another cv seed: other folds and unit seeds, so another file.
sed 's/"seed": 5/"seed": 6/' "$T/twice.json" > "$T/other.json.tmp" && sed 's/"name": "twice"/"name": "other"/' "$T/other.json.tmp" > "$T/other.json"
run_unit other cnn; check "cnn with another seed" 0 $?
cmp -s <(strip_volatile "$T/results/other/cnn/r0-f0.json" | grep -v '"experiment\|"name"') \
       <(strip_volatile "$T/results/twice/cnn/r0-f0.json" | grep -v '"experiment\|"name"') &&
  bad "another seed gave the same result" || ok "another seed gives another result"
exit $fail
