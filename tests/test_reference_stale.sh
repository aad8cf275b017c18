#!/usr/bin/env bash
# test_reference_stale.sh: the committed reference results were made by this
# darkfold version from the shipped experiment file as it is now. Fails
# otherwise, telling the developer to refresh them.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
S=${SRCDIR:?SRCDIR must name the source root}
EXP=${REFERENCE_EXP:-experiments/cable.json}
name=$(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$S/$EXP" | head -1)
R=$S/results/reference/$name
fix="run 'make -f Makefile.bench reference' and commit results/reference/$name"
if ! ls "$R"/*/r*-f*.json >/dev/null 2>&1; then
  echo "FAIL: no reference unit files in '$R': $fix"
  exit 1
fi
version=$("$D" --version | sed -n '1s/^darkfold \([^ ]*\).*/\1/p')
sha=$(sha256sum "$S/$EXP" | cut -d' ' -f1)
[ -n "$version" ] || { echo "FAIL: cannot read the version from '$D --version'"; exit 1; }
fail=0 n=0
for f in "$R"/*/r*-f*.json; do
  n=$((n + 1))
  v=$(sed -n 's/^ *"darkfold_version": *"\([^"]*\)".*/\1/p' "$f" | head -1)
  h=$(sed -n 's/^ *"experiment_sha256": *"\([^"]*\)".*/\1/p' "$f" | head -1)
  if [ "$v" != "$version" ]; then
    [ "$fail" = 0 ] && echo "FAIL: ${f#"$S"/} was made by darkfold $v, this is $version: $fix"
    fail=$((fail + 1))
  elif [ "$h" != "$sha" ]; then
    [ "$fail" = 0 ] && echo "FAIL: ${f#"$S"/} was made from another $EXP (sha256 $h, now $sha): $fix"
    fail=$((fail + 1))
  fi
done
[ "$fail" = 0 ] || { echo "FAIL: $fail of $n reference unit files are stale"; exit 1; }
echo "ok: $n reference unit files match darkfold $version and $EXP"
