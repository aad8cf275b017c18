#!/usr/bin/env bash
# test_reference.sh: `darkfold report` on the committed reference unit files
# (results/reference/<name>/) reproduces the committed summary.json, tables,
# report.md and figure data files byte for byte. No training: it runs the
# report alone, in a temporary folder. A mismatch fails with a diff.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
S=${SRCDIR:?SRCDIR must name the source root}
EXP=${REFERENCE_EXP:-experiments/cable.json}
name=$(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$S/$EXP" | head -1)
R=$S/results/reference/$name
if [ ! -s "$R/summary.json" ]; then
  echo "FAIL: no reference results in '$R': run 'make -f Makefile.bench reference' and commit them"
  exit 1
fi
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "SKIP: gnuplot is not installed (install gnuplot-nox): figure data cannot be compared"
  exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-reference-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
# The experiment names its cfgs and folders relative to the source root.
ln -s "$S/cfg" "$T/cfg"
mkdir -p "$T/results/$name"
n=0
for f in "$R"/*/r*-f*.json; do
  m=$(basename "$(dirname "$f")")
  mkdir -p "$T/results/$name/$m"
  cp "$f" "$T/results/$name/$m/"
  n=$((n + 1))
done
echo "ok: $n committed unit files copied"
if ! (cd "$T" && "$D" report "$S/$EXP") > "$T/report.out" 2>&1; then
  echo "FAIL: darkfold report on the reference unit files failed:"
  cat "$T/report.out"
  exit 1
fi
O=$T/results/$name
compared=0
for f in summary.json summary.md summary.csv summary.tex report.md figures/*.dat; do
  for g in "$R"/$f; do
    [ -e "$g" ] || { echo "FAIL: the reference lacks $f"; fail=1; continue; }
    rel=${g#"$R"/}
    compared=$((compared + 1))
    if cmp -s "$g" "$O/$rel"; then
      echo "ok: $rel is identical"
    else
      echo "FAIL: $rel differs from the committed reference (--- committed, +++ now):"
      diff -u "$g" "$O/$rel" | head -60
      fail=1
    fi
  done
done
# Figure data the report now writes but the reference lacks.
for g in "$O"/figures/*.dat; do
  [ -e "$R/figures/$(basename "$g")" ] || { echo "FAIL: figures/$(basename "$g") is new: refresh the reference"; fail=1; }
done
if [ "$fail" = 0 ]; then
  echo "ok: $compared files reproduced byte for byte"
else
  echo "FAIL: the report no longer reproduces results/reference/$name;"
  echo "if the change is intended, run 'make -f Makefile.bench reference' and commit it"
fi
exit $fail
