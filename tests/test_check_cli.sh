#!/usr/bin/env bash
# test_check_cli.sh: `darkfold check`: stock and study cfgs pass, each kind of
# bad cfg gives one "error: FILE:LINE: ..." line and exit 1, never a crash.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
S=${SRCDIR:?SRCDIR must name the source root}
STOCK=/usr/share/darknet/cfg
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/darkfold-check.XXXXXX")
trap 'rm -rf "$T"' EXIT

check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
same() { # same DESCRIPTION EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "FAIL: $1"; echo "  expected: $2"; echo "  got:      $3"; fail=1; else echo "ok: $1"; fi
}
# bad NAME EXPECTED_STDERR: $T/NAME.cfg must fail with exactly that stderr.
bad() {
  "$D" check "$T/$1.cfg" >"$T/out" 2>"$T/err"
  check "$1 exits 1" 1 $?
  same "$1 message" "$2" "$(cat "$T/err")"
  same "$1 prints nothing on stdout" "" "$(cat "$T/out")"
}

net='[net]
batch=16
subdivisions=1
width=32
height=32
channels=3'

printf '%s\n\n[convolutionl]\nfilters=8\n' "$net" >"$T/unknown_section.cfg"
bad unknown_section "error: $T/unknown_section.cfg:8: unknown section [convolutionl]"

printf '%s\n\n[convolutional]\nfilters=abc\nsize=3\n' "$net" >"$T/bad_number.cfg"
bad bad_number "error: $T/bad_number.cfg:9: 'filters' must be an integer, got 'abc'"

printf '%s\n[convolutional]\nfilters=8\nsize=3\n[shortcut]\nfrom=-3\n' "$net" >"$T/bad_shortcut.cfg"
bad bad_shortcut "error: $T/bad_shortcut.cfg:11: shortcut from=-3 refers to layer -2, but only layer 0 comes before it"

printf '%s\n[convolutional]\nfilters=8\nsize=3\nfilters=4\n' "$net" >"$T/duplicate_key.cfg"
bad duplicate_key "error: $T/duplicate_key.cfg:10: duplicate key 'filters' in [convolutional] (first at line 8)"

printf '[net]\nbatch=16\nsubdivisions=3\nwidth=8\nheight=8\nchannels=1\n[connected]\noutput=2\n' >"$T/batch_subdivisions.cfg"
bad batch_subdivisions "error: $T/batch_subdivisions.cfg:2: batch 16 is not divisible by subdivisions 3"

printf '%s\n[convolutional]\nfilters=8\nsize=3\nstride=0\n' "$net" >"$T/zero_stride.cfg"
bad zero_stride "error: $T/zero_stride.cfg:10: 'stride' must be positive, got 0"

# Missing file: named in the error, exit 1.
"$D" check "$T/missing.cfg" >/dev/null 2>"$T/err"
check "missing file exits 1" 1 $?
same "missing file message" "error: cannot open '$T/missing.cfg': No such file or directory" "$(cat "$T/err")"

# --classes: the final output must match.
printf '%s\n[convolutional]\nfilters=8\nsize=3\npad=1\n[avgpool]\n[softmax]\n' "$net" >"$T/eight.cfg"
"$D" check --classes 2 "$T/eight.cfg" >/dev/null 2>"$T/err"
check "wrong --classes exits 1" 1 $?
same "wrong --classes message" "error: $T/eight.cfg:12: the network outputs 8 values per image (final layer [softmax]), not 2 classes" "$(cat "$T/err")"
out=$("$D" check --classes=8 "$T/eight.cfg"); check "right --classes passes" 0 $?
same "check reports layers and outputs" "ok: $T/eight.cfg: 3 layers, 8 outputs" "$out"

# CRLF and a UTF-8 BOM are read like LF (the effective cfg darkfold writes
# for Darknet is plain LF); an error in such a file still names its line.
sed 's/$/\r/' "$T/eight.cfg" >"$T/crlf.cfg"
printf '\357\273\277' | cat - "$T/crlf.cfg" >"$T/bom.cfg"
out=$("$D" check --classes 8 "$T/crlf.cfg" "$T/bom.cfg"); check "CRLF and BOM files pass" 0 $?
same "CRLF and BOM files report like LF" "ok: $T/crlf.cfg: 3 layers, 8 outputs
ok: $T/bom.cfg: 3 layers, 8 outputs" "$out"
sed 's/$/\r/' "$T/bad_number.cfg" | { printf '\357\273\277'; cat; } >"$T/bom_bad.cfg"
bad bom_bad "error: $T/bom_bad.cfg:9: 'filters' must be an integer, got 'abc'"

# Several files: each is reported, the status says whether any failed.
"$D" check "$T/eight.cfg" "$T/bad_number.cfg" "$T/crlf.cfg" >"$T/out" 2>"$T/err"
check "one bad file among good ones exits 1" 1 $?
same "good files still reported" "2" "$(grep -c '^ok: ' "$T/out")"
same "bad file reported" "1" "$(grep -c '^error: ' "$T/err")"

# Usage errors.
"$D" check >/dev/null 2>&1; check "no file is a usage error" 2 $?
"$D" check --classes "$T/eight.cfg" >/dev/null 2>&1; check "--classes without a number is a usage error" 2 $?
"$D" check --classes 0 "$T/eight.cfg" >/dev/null 2>&1; check "--classes 0 is a usage error" 2 $?
"$D" check --frobnicate "$T/eight.cfg" >/dev/null 2>&1; check "unknown option is a usage error" 2 $?

# The study's models are 2-class networks.
out=$("$D" check --classes 2 "$S/cfg/dense.cfg" "$S/cfg/cnn.cfg" "$S/cfg/vgg16.cfg" "$S/cfg/resnet50.cfg")
check "the study's cfgs pass --classes 2" 0 $?
same "the study's cfgs: layers and outputs" "ok: $S/cfg/dense.cfg: 4 layers, 2 outputs
ok: $S/cfg/cnn.cfg: 10 layers, 2 outputs
ok: $S/cfg/vgg16.cfg: 24 layers, 2 outputs
ok: $S/cfg/resnet50.cfg: 77 layers, 2 outputs" "$out"

# Debian's stock classifier cfgs pass with their 1000 ImageNet classes
# (cifar: 10, extraction22k: 21842); the layer counts are those libdarknet's
# parse_network_cfg gives.
stock=""
for f in resnet18 resnet34 resnet50 resnet101 resnet152 resnext50 resnext101-32x4d \
         resnext152-32x4d darknet19 darknet19_448 darknet darknet53 vgg-16 alexnet \
         densenet201 extraction tiny strided; do
  stock="$stock $STOCK/$f.cfg"
done
# shellcheck disable=SC2086
out=$("$D" check --classes 1000 $stock); check "stock classifier cfgs pass --classes 1000" 0 $?
same "all 18 stock classifier cfgs reported ok" 18 "$(grep -c '^ok: .*, 1000 outputs$' <<<"$out")"
same "stock resnet50.cfg: Darknet's layer count" "ok: $STOCK/resnet50.cfg: 69 layers, 1000 outputs" \
  "$(grep "/resnet50.cfg" <<<"$out")"
same "stock densenet201.cfg: Darknet's layer count" "ok: $STOCK/densenet201.cfg: 305 layers, 1000 outputs" \
  "$(grep "/densenet201.cfg" <<<"$out")"
"$D" check --classes 10 "$STOCK/cifar.cfg" >/dev/null; check "stock cifar.cfg passes --classes 10" 0 $?
"$D" check --classes 21842 "$STOCK/extraction22k.cfg" >/dev/null; check "stock extraction22k.cfg passes --classes 21842" 0 $?
"$D" check --classes 2 "$STOCK/resnet50.cfg" >/dev/null 2>"$T/err"
check "stock resnet50.cfg fails --classes 2" 1 $?
same "stock resnet50.cfg --classes 2 message" \
  "error: $STOCK/resnet50.cfg:507: the network outputs 1000 values per image (final layer [softmax]), not 2 classes" \
  "$(cat "$T/err")"

# Memory. Figures by hand, 4 bytes a float.
# batch=2147483647, 32x32x3 -> conv 8 filters (8192 values) -> connected 2 -> softmax:
# per image output+delta 2*8192 + 2*2, softmax output, delta, loss 3*2, input
# 3072 and truth 2: 19468 floats = 77872 B; x 2147483647 = 152.1 TiB.
printf '[net]\nbatch=2147483647\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=linear\n\n[connected]\noutput=2\n\n[softmax]\n' >"$T/huge_batch.cfg"
"$D" check --memory-limit 16G "$T/huge_batch.cfg" >"$T/out" 2>"$T/err"
check "huge batch exits 1" 1 $?
same "huge batch names the batch line and the figures" \
  "error: '$T/huge_batch.cfg': line 2: batch=2147483647 needs 152.1 TiB for outputs and gradients (152.1 TiB in all), above the limit of 16.0 GiB (--memory-limit)" \
  "$(cat "$T/err")"
"$D" check "$T/huge_batch.cfg" >"$T/out" 2>"$T/err"
check "huge batch exits 1 under the default limit" 1 $?
grep -qx "error: '$T/huge_batch.cfg': line 2: batch=2147483647 needs 152.1 TiB .*(MemAvailable; --memory-limit to change)" "$T/err"
check "the default limit is MemAvailable" 0 $?
same "huge batch prints nothing on stdout" "" "$(cat "$T/out")"

# 999x999 kernel, batch 1, pad=1 (so 32x32 out): im2col 32*32 * 999*999*3
# floats = 11.4 GiB; weights 3*8*999*999 and 8 biases with updates = 182.7
# MiB; the layer 11.6 GiB.
sed 's/^batch=.*/batch=1/; s/^size=3/size=999/' "$T/huge_batch.cfg" >"$T/huge_kernel.cfg"
"$D" check --memory-limit=8G "$T/huge_kernel.cfg" >"$T/out" 2>"$T/err"
check "huge kernel exits 1" 1 $?
same "huge kernel names the layer's line and its workspace" \
  "error: '$T/huge_kernel.cfg': line 7: [convolutional] (layer 0) needs 11.6 GiB (11.4 GiB for its im2col workspace), the network 11.6 GiB in all, above the limit of 8.0 GiB (--memory-limit)" \
  "$(cat "$T/err")"

# The tiny network of test_memory.c: 2688 B in all, adam=1, batch 2.
printf '[net]\nbatch=2\nwidth=4\nheight=4\nchannels=1\nadam=1\n[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=linear\n[connected]\noutput=2\n[softmax]\n' >"$T/tiny.cfg"
"$D" check --memory-limit 2688 "$T/tiny.cfg" >"$T/out" 2>"$T/err"
check "a cfg exactly at the limit passes" 0 $?
"$D" check --memory-limit 2687 "$T/tiny.cfg" >"$T/out" 2>"$T/err"
check "a cfg one byte above the limit fails" 1 $?
grep -q "^error: '$T/tiny.cfg': line 7: \[convolutional\] (layer 0) needs 1.4 KiB" "$T/err"
check "one byte above: the message names the biggest layer" 0 $?
out=$("$D" check --memory --memory-limit 1G "$T/tiny.cfg"); check "--memory exits 0" 0 $?
same "--memory: the conv layer's row" \
  "    0     7  convolutional     512 bytes    576 bytes    160 bytes    160 bytes      1.4 KiB" \
  "$(grep '^    0 ' <<<"$out")"
same "--memory: the totals" \
  "batch 2: outputs and gradients 736 bytes (with input and truth), workspace 576 bytes (largest layer), weights 688 bytes, adam 688 bytes, total 2.6 KiB" \
  "$(grep '^batch ' <<<"$out")"
for v in 0 -1 1X abc; do
  "$D" check --memory-limit "$v" "$T/tiny.cfg" >/dev/null 2>"$T/err"
  check "--memory-limit '$v' is a usage error" 2 $?
done
same "a bad --memory-limit message" "error: --memory-limit needs a positive size such as 512M or 8G, got 'abc'" "$(cat "$T/err")"

exit $fail
