#!/usr/bin/env bash
# same-output.sh: show that two darkfold binaries compute the same results,
# for a change meant to leave behaviour alone (a refactor, a speed-up).
#
#   tools/same-output.sh OLD_DARKFOLD NEW_DARKFOLD
#
# 1. Both binaries train the same small units (a dense net, a CNN and the
#    autoencoder, each with oversampling, augmentation and the tuned
#    threshold, on a small synthetic set) from the same seed. The unit files
#    must be identical apart from their timing and host objects, the
#    checksum over them and the git commit the binary was built from.
# 2. Both binaries run `darkfold report` on the committed reference unit
#    files. summary.json, the tables, report.md and the figures' data files
#    must be identical byte for byte.
# Exit 0 when everything matches, 1 otherwise (with a diff).
set -u
[ $# = 2 ] || { sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
OLD=$(realpath "$1") NEW=$(realpath "$2")
S=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-same-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
# A unit file without what may differ between two builds of the same code:
# timing, host, the checksum over them, and the commit the build came from.
strip_volatile() {
  sed '/^  "timing": {/,/^  },/d; /^  "host": {/,/^  },/d; /^  "checksum": /d;
       /^    "git_commit": /d; /^    "git_dirty": /d' "$1"
}

"$OLD" synth --seed 3 --size 32 --out "$T/synth" >/dev/null 2>&1 || { echo "synth failed"; exit 1; }
for who in old new; do
  mkdir -p "$T/$who"
  cat > "$T/$who/same.json" <<JSON
{
  "name": "same",
  "results_dir": "results",
  "dataset": { "root": "$T/synth", "normal": ["test/good"], "anomalous": ["test/combined"],
               "width": 16, "height": 16, "channels": 3, "synthetic": false },
  "models": { "dense": "$S/cfg/dense.cfg", "cnn": "$S/cfg/cnn.cfg",
              "ae": { "cfg": "$S/cfg/ae.cfg", "kind": "one_class", "score": "max_local", "score_k": 4, "epochs": 3 } },
  "cv": { "k": 2, "seed": 5 },
  "training": { "epochs": 3, "batch": 8, "imbalance": "oversample",
                "augment": { "flip": true, "rot90": true, "jitter": 0.1 } },
  "metrics": { "threshold_policy": "tuned" }
}
JSON
done
for m in dense cnn ae; do
  for who in old new; do
    bin=$OLD; [ $who = new ] && bin=$NEW
    (cd "$T/$who" && "$bin" run same.json --model $m --repeat 0 --fold 1) >"$T/$who/$m.out" 2>&1 ||
      { echo "FAIL: $who binary: unit $m failed:"; tail -5 "$T/$who/$m.out"; fail=1; }
  done
  if diff <(strip_volatile "$T/old/results/same/$m/r0-f1.json") \
          <(strip_volatile "$T/new/results/same/$m/r0-f1.json") > "$T/diff"; then
    echo "ok: unit $m: identical apart from timing and host"
  else
    echo "FAIL: unit $m differs (< old, > new):"; head -30 "$T/diff"; fail=1
  fi
done

name=cable R=$S/results/reference/$name
for who in old new; do
  bin=$OLD; [ $who = new ] && bin=$NEW
  W=$T/rep-$who
  mkdir -p "$W"
  ln -s "$S/cfg" "$W/cfg"
  for f in "$R"/*/r*-f*.json; do
    m=$(basename "$(dirname "$f")")
    mkdir -p "$W/results/$name/$m" && cp "$f" "$W/results/$name/$m/"
  done
  (cd "$W" && "$bin" report "$S/experiments/cable.json") >"$W.out" 2>&1 ||
    { echo "FAIL: $who binary: report failed:"; tail -5 "$W.out"; fail=1; }
done
n=0
for g in "$T"/rep-old/results/$name/summary.* "$T"/rep-old/results/$name/report.md \
         "$T"/rep-old/results/$name/figures/*.dat; do
  rel=${g#"$T"/rep-old/}
  n=$((n + 1))
  cmp -s "$g" "$T/rep-new/$rel" || { echo "FAIL: $rel differs:"; diff -u "$g" "$T/rep-new/$rel" | head -30; fail=1; }
done
[ "$(ls "$T"/rep-old/results/$name/figures/*.dat | wc -l)" = "$(ls "$T"/rep-new/results/$name/figures/*.dat | wc -l)" ] ||
  { echo "FAIL: the two reports write different sets of figure data files"; fail=1; }
[ $fail = 0 ] && echo "ok: report: $n files identical byte for byte"
exit $fail
