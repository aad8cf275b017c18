#!/usr/bin/env bash
# test_cmd_synth.sh: `darkfold synth` on the command line: the layout and counts
# `darkfold data` sees, byte-identical reruns, the contact sheet, usage errors.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-synth-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) echo "ok: $1";; *) echo "FAIL: $1: output lacks '$3'"; echo "$2"; fail=1;; esac
}
same() { # same DESCRIPTION A B
  if [ "$2" == "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: '$2' != '$3'"; fail=1; fi
}
tree_hash() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum); }

"$D" synth --out "$T/a" --seed 7 --size 32 >"$T/out" 2>&1; check "synth writes a set" 0 $?
contains "synth reports what it wrote" "$(cat "$T/out")" "wrote 374 images and 92 masks"
"$D" synth --out "$T/b" --seed 7 --size 32 >/dev/null 2>&1; check "synth again" 0 $?
same "same seed gives identical files" "$(tree_hash "$T/a")" "$(tree_hash "$T/b")"
same "466 PNG files and a manifest" "$(find "$T/a" -type f | wc -l)" "467"
"$D" synth --out "$T/c" --seed 8 --size 32 >/dev/null 2>&1
if [ "$(tree_hash "$T/a")" != "$(tree_hash "$T/c")" ]; then echo "ok: another seed differs"; else echo "FAIL: seeds 7 and 8 gave the same files"; fail=1; fi
same "masks only for defect images" "$(find "$T/a/cable/ground_truth" -name '*_mask.png' | wc -l)" "92"
same "no mask folder for good" "$(ls "$T/a/cable/ground_truth" | grep -c good)" "0"

out=$("$D" data "$T/a/cable" 2>&1); check "data on the synthetic set" 0 $?
contains "train/good has 224" "$out" "train/good                   normal        224"
contains "test/good has 58" "$out" "test/good                    unused         58"
for t in "bent_wire  *anomalous *13" "cable_swap  *anomalous *12" "combined  *anomalous *11" \
         "cut_inner_insulation *anomalous *14" "cut_outer_insulation *anomalous *10" \
         "missing_cable  *anomalous *12" "missing_wire  *anomalous *10" "poke_insulation *anomalous *10"; do
  if echo "$out" | grep -Eq "^test/$t "; then echo "ok: data lists $t"; else echo "FAIL: data lacks $t"; echo "$out"; fail=1; fi
done
contains "class totals" "$out" "classes: 224 normal, 92 anomalous, 58 images in unused folders"
contains "every defect has a mask" "$out" "masks: 92 of 92 defect images"
contains "sizes" "$out" "image sizes: 32x32 (374)"
contains "formats" "$out" "png formats: RGB 8-bit (374)"
out=$("$D" data "$T/a/cable" --with-test-good 2>&1); check "data --with-test-good" 0 $?
contains "test/good counted as normal" "$out" "classes: 282 normal, 92 anomalous"

"$D" synth --seed 7 --size 48 --contact-sheet "$T/sheet.png" >/dev/null 2>&1; check "contact sheet alone" 0 $?
same "contact sheet is a PNG" "$(head -c 4 "$T/sheet.png" | tail -c 3)" "PNG"
[ ! -e "$T/cable" ] && echo "ok: contact sheet alone writes no dataset" || { echo "FAIL: dataset written"; fail=1; }

for bad in "--out $T/x" "--seed 7" "--seed -1 --out $T/x" "--seed x --out $T/x" \
           "--seed 7 --out $T/x --size 8" "--seed 7 --out $T/x --difficulty 0" \
           "--seed 7 --out $T/x --difficulty nan" "--seed 7 --out $T/x --rotation -1" \
           "--seed 7 --out $T/x --rotation 181" "--seed 7 --out $T/x --rotation ten" \
           "--seed 7 --out $T/x --frobnicate" "--seed 7 --out"; do
  "$D" synth $bad >/dev/null 2>"$T/err"; check "usage error: synth $bad" 2 $?
  contains "usage error says so: $bad" "$(head -1 "$T/err")" "error: "
done
[ ! -e "$T/x" ] && echo "ok: usage errors write nothing" || { echo "FAIL: usage error wrote files"; fail=1; }
touch "$T/file"
"$D" synth --out "$T/file" --seed 7 --size 32 >/dev/null 2>"$T/err"; check "unwritable output" 1 $?
contains "unwritable output names the path" "$(cat "$T/err")" "$T/file"
exit $fail
