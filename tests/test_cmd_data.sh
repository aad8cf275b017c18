#!/usr/bin/env bash
# test_cmd_data.sh: `darkfold data` on good and broken datasets: each broken
# case gives exit 1 and one stderr line naming the path; the cache options.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-data-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) echo "ok: $1";; *) echo "FAIL: $1: output lacks '$3'"; echo "$2"; fail=1;; esac
}
# bad DESCRIPTION NEEDLE ARGS...: exit 1, exactly one stderr line holding NEEDLE
bad() {
  local desc=$1 needle=$2; shift 2
  "$D" data "$@" >/dev/null 2>"$T/err"; check "$desc" 1 $?
  contains "$desc: message" "$(cat "$T/err")" "$needle"
  [ "$(wc -l <"$T/err")" = 1 ] && echo "ok: $desc: one line" || { echo "FAIL: $desc: $(wc -l <"$T/err") lines"; cat "$T/err"; fail=1; }
}

# a small valid category built from synthetic images
"$D" synth --out "$T/src" --seed 3 --size 32 >/dev/null || { echo "FAIL: synth"; exit 1; }
S=$T/src/cable
fresh() { # fresh NAME: a copy of 3 good, 2 test/good and 2 defect images
  rm -rf "$T/$1"; mkdir -p "$T/$1/c/train/good" "$T/$1/c/test/good" "$T/$1/c/test/cut" "$T/$1/c/ground_truth/cut"
  cp "$S"/train/good/00[012].png "$T/$1/c/train/good/"
  cp "$S"/test/good/00[01].png "$T/$1/c/test/good/"
  cp "$S"/test/poke_insulation/00[01].png "$T/$1/c/test/cut/"
  cp "$S"/ground_truth/poke_insulation/000_mask.png "$T/$1/c/ground_truth/cut/"
}
fresh ok
out=$("$D" data "$T/ok/c" 2>&1); check "valid category" 0 $?
contains "defect folder with partial masks" "$out" "test/cut                     anomalous       2     1/2"
contains "classes" "$out" "classes: 3 normal, 2 anomalous, 2 images in unused folders"
contains "defect types" "$out" "defect types: cut (2), good (5)"
out=$("$D" data "$T/ok/c/" --normal train/good --normal test/good --anomalous test/cut 2>&1); check "explicit folders, trailing slash" 0 $?
contains "explicit folders" "$out" "classes: 5 normal, 2 anomalous"
out=$(cd "$T/ok" && "$D" data c 2>&1); check "relative DIR" 0 $?
contains "relative DIR root" "$out" "root '.', category 'c'"

out=$("$D" data "$T/ok/c" --cache-dir "$T/cache" --width 16 --height 8 --channels 1 2>&1); check "cache build" 0 $?
contains "cache built" "$out" "cache: building"
contains "cache ready" "$out" "holds 5 images at 16x8x1"
out=$("$D" data "$T/ok/c" --cache-dir "$T/cache" --width 16 --height 8 --channels 1 2>&1); check "cache hit" 0 $?
case "$out" in *"cache: building"*) echo "FAIL: cache rebuilt on a hit"; fail=1;; *) echo "ok: cache hit does not rebuild";; esac
touch -d '2001-01-01' "$T/ok/c/train/good/001.png"
out=$("$D" data "$T/ok/c" --cache-dir "$T/cache" --width 16 --height 8 --channels 1 2>&1); check "cache after touch" 0 $?
contains "touched source rebuilds the cache" "$out" "stale: source files or preprocessing changed"

bad "missing root" "dataset root '$T/nowhere' does not exist" "$T/nowhere/c"
bad "missing category" "category 'nocat' not found: '$T/ok/nocat'" "$T/ok/nocat"
fresh nf; rm -rf "$T/nf/c/train"
bad "missing folder" "missing folder '$T/nf/c/train/good'" "$T/nf/c"
fresh nt; rm -rf "$T/nt/c/test"
bad "missing test folder" "missing folder '$T/nt/c/test'" "$T/nt/c"
fresh ec; rm -f "$T/ec/c/train/good/"*.png
bad "empty normal class" "no normal images: no .png files in '$T/ec/c/train/good'" "$T/ec/c"
fresh ea; rm -rf "$T/ea/c/test/cut"
bad "empty anomalous class" "no anomalous images: no .png files in '$T/ea/c/test/*'" "$T/ea/c"
fresh tr; head -c 300 "$S/train/good/000.png" >"$T/tr/c/train/good/001.png"
bad "truncated PNG" "cannot decode '$T/tr/c/train/good/001.png': truncated file" "$T/tr/c"
fresh np; echo "not an image" >"$T/np/c/test/cut/001.png"
bad "non-PNG file" "cannot decode '$T/np/c/test/cut/001.png': not a PNG file" "$T/np/c"
fresh mk; echo "junk" >"$T/mk/c/ground_truth/cut/000_mask.png"
bad "broken mask" "'$T/mk/c/ground_truth/cut/000_mask.png'" "$T/mk/c"
fresh hg
printf '\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00\x27\x30\x9c\x9f\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82' >"$T/hg/c/train/good/002.png"
bad "100000x100000 header" "'$T/hg/c/train/good/002.png': Invalid IHDR data" "$T/hg/c"
contains "100000x100000 header: rejected by the user limits" "$(cat "$T/err")" "exceeds user limit"
bad "folder in both classes" "listed as both normal and anomalous" "$T/ok/c" --normal test/cut

"$D" data >/dev/null 2>&1; check "no DIR" 2 $?
"$D" data "$T/ok/c" --frobnicate >/dev/null 2>&1; check "unknown option" 2 $?
"$D" data "$T/ok/c" --channels 2 >/dev/null 2>&1; check "two channels" 2 $?
"$D" data "$T/ok/c" --width x >/dev/null 2>&1; check "bad width" 2 $?
"$D" data "$T/ok/c" "$T/ok/c" >/dev/null 2>&1; check "two DIRs" 2 $?
exit $fail
