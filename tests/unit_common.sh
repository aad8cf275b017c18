# unit_common.sh: shared by the test_unit_*.sh scripts: a tiny synthetic set
# and experiment, and checks. Source it; it sets D, T (a temporary folder
# removed on exit) and fail.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
S=${SRCDIR:?SRCDIR must name the source root}
T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-unit-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then bad "$1: expected exit $2, got $3"; else ok "$1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) ok "$1";; *) bad "$1: output lacks '$3'"; printf '%s\n' "$2" | tail -20;; esac
}
# The unit result file without its timing and host objects (the parts that
# may differ between runs) and the checksum, which covers them.
strip_volatile() {
  sed '/^  "timing": {/,/^  },/d; /^  "host": {/,/^  },/d; /^  "checksum": /d' "$1"
}
# json_int FILE KEY: the first integer value of "KEY": in FILE.
json_int() { sed -n "s/^ *\"$2\": \\(-\\?[0-9][0-9]*\\),\\?\$/\\1/p" "$1" | head -1; }

# 69 images of 32x32 px: test/good (58) normal, test/combined (11) anomalous.
"$D" synth --seed 3 --size 32 --out "$T/synth" >/dev/null 2>"$T/synth.err" ||
  { bad "synth"; cat "$T/synth.err"; exit 1; }

# write_experiment NAME EPOCHS [EXTRA_TRAINING_JSON] [MODELS_JSON]
write_experiment() {
  local models=${4:-"\"dense\": \"$S/cfg/dense.cfg\", \"cnn\": \"$S/cfg/cnn.cfg\""}
  cat > "$T/$1.json" <<JSON
{
  "name": "$1",
  "results_dir": "$T/results",
  "dataset": { "root": "$T/synth", "normal": ["test/good"], "anomalous": ["test/combined"],
               "width": 16, "height": 16, "channels": 3, "synthetic": false },
  "models": { $models },
  "cv": { "k": 2, "seed": 5 },
  "training": { "epochs": $2, "batch": 8${3:+, $3} }
}
JSON
}

# write_pixel_experiment NAME ROOT MODELS_JSON PIXEL: one-class models on
# ROOT's test/good (normal) and test/combined (anomalous) at 16x16, 2 folds,
# 1 epoch, metrics.pixel PIXEL.
write_pixel_experiment() {
  cat > "$T/$1.json" <<JSON
{
  "name": "$1",
  "results_dir": "$T/results",
  "dataset": { "root": "$2", "normal": ["test/good"], "anomalous": ["test/combined"],
               "width": 16, "height": 16, "channels": 3, "synthetic": false },
  "models": { $3 },
  "cv": { "k": 2, "seed": 5 },
  "training": { "epochs": 1, "batch": 8 },
  "metrics": { "pixel": $4 }
}
JSON
}

# run_unit EXPERIMENT MODEL: train unit r0-f0 from scratch; output in $T/out.
run_unit() {
  rm -rf "$T/results/$1/$2/r0-f0" "$T/results/$1/$2/r0-f0.json"
  (cd "$T" && "$D" run "$1.json" --model "$2" --repeat 0 --fold 0) >"$T/out" 2>&1
}
