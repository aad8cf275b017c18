#!/usr/bin/env bash
# test_bench.sh: `darkfold bench` output and errors, and the OpenBLAS core
# the program runs with.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) echo "ok: $1";; *) echo "FAIL: $1: output lacks '$3'"; echo "$2"; fail=1;; esac
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.cfg" <<'CFG'
[net]
batch=64
subdivisions=2
width=224
height=224
channels=3
learning_rate=0.01
momentum=0.9
decay=0.0005

[convolutional]
batch_normalize=1
filters=4
size=3
stride=2
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[connected]
output=2
activation=linear

[softmax]
CFG

out=$("$D" bench --cfg "$tmp/tiny.cfg" --size 12 --batch 2 --iters 2 --compare 2>"$tmp/err"); check "bench --compare" 0 $?
contains "bench names the size and batch (not the cfg's)" "$out" "12x12, batch 2"
for s in "darkfold: " "stock: " "images/s" "GFLOP/s" "convolutional" "maxpool" "connected" "update" "speed-up: "; do
  contains "bench prints $s" "$out" "$s"
done
contains "bench prints the OpenBLAS core" "$out" "OpenBLAS core "
[ ! -s "$tmp/err" ] && echo "ok: darknet's parser output is not shown" || { echo "FAIL: stderr not empty"; cat "$tmp/err"; fail=1; }

"$D" bench --cfg "$tmp/nosuch.cfg" >/dev/null 2>"$tmp/err"; check "missing cfg" 1 $?
contains "missing cfg is named" "$(cat "$tmp/err")" "cannot read '$tmp/nosuch.cfg'"
printf 'width=3\n' > "$tmp/nonet.cfg"
"$D" bench --cfg "$tmp/nonet.cfg" >/dev/null 2>"$tmp/err"; check "cfg without sections" 1 $?
contains "cfg without sections is named" "$(cat "$tmp/err")" "nonet.cfg"
"$D" bench --cfg "$tmp/tiny.cfg" --size abc >/dev/null 2>"$tmp/err"; check "non-numeric size" 2 $?
contains "non-numeric size is reported" "$(cat "$tmp/err")" "--size"
"$D" bench >/dev/null 2>&1; check "no cfg" 2 $?
"$D" bench --cfg "$tmp/tiny.cfg" --stock --compare >/dev/null 2>&1; check "--stock with --compare" 2 $?

# Peak RSS: a network whose dense layer holds 1024 x 12288 weights (48 MiB)
# and as many weight updates, both written while training, cannot peak
# below 96 MiB; the tiny one's figure must be smaller.
rss_of() { sed -n 's/.*peak RSS of the process so far: \([0-9]*\) MiB.*/\1/p' <<<"$1" | head -1; }
small=$(rss_of "$out")
sed 's/^output=2$/output=12288/' "$tmp/tiny.cfg" > "$tmp/wide.cfg"
printf '[connected]\noutput=2\nactivation=linear\n\n[softmax]\n' >> "$tmp/wide.cfg"
sed -i '0,/^\[softmax\]$/{/^\[softmax\]$/d}' "$tmp/wide.cfg"
wide=$("$D" bench --cfg "$tmp/wide.cfg" --size 64 --batch 2 --iters 1 2>"$tmp/err"); check "bench, wide dense layer" 0 $?
big=$(rss_of "$wide")
if [ -n "$small" ] && [ -n "$big" ] && [ "$big" -ge 96 ] && [ "$small" -lt "$big" ]; then
  echo "ok: peak RSS $big MiB >= 96 MiB of dense weights, tiny net $small MiB"
else echo "FAIL: peak RSS: wide '$big', tiny '$small'"; echo "$wide"; fail=1; fi

# --gemm: OpenBLAS's sgemm rate; options that make no sense with it are refused.
out=$("$D" bench --gemm 96 --iters 2); check "bench --gemm" 0 $?
contains "bench --gemm names the product" "$out" "sgemm 96x96 times 96x96, 2 timed calls"
contains "bench --gemm prints the rate" "$out" "GFLOP/s (CPU time)"
contains "bench --gemm prints the ordered GEMM's rate" "$out" "ordered GEMM (inference, 1 thread): "
# --precision bf16 where the CPU has AVX512_BF16 (the --gemm line says), else refused.
case "$out" in
  *"BF16 GEMM (training with --precision bf16, 1 thread): "*GFLOP/s*)
    out=$("$D" bench --cfg "$tmp/tiny.cfg" --size 12 --batch 2 --iters 2 --precision bf16 --compare 2>"$tmp/err"); check "bench --precision bf16 --compare" 0 $?
    for s in "precision bf16" "darkfold bf16: " "stock: " "speed-up: "; do
      contains "bench --precision bf16 prints $s" "$out" "$s"
    done;;
  *"BF16 GEMM: not measured, this CPU lacks AVX512_BF16"*)
    "$D" bench --cfg "$tmp/tiny.cfg" --size 12 --batch 2 --iters 1 --precision bf16 >/dev/null 2>"$tmp/err"; check "bench --precision bf16 without AVX512_BF16" 1 $?
    contains "the missing feature is named" "$(cat "$tmp/err")" "AVX512_BF16";;
  *) echo "FAIL: bench --gemm prints no BF16 line"; printf '%s\n' "$out"; fail=1;;
esac
"$D" bench --cfg "$tmp/tiny.cfg" --precision fp16 >/dev/null 2>"$tmp/err"; check "--precision fp16" 2 $?
contains "--precision fp16 is reported" "$(cat "$tmp/err")" "expected fp32 or bf16, got 'fp16'"
"$D" bench --gemm 64 --precision bf16 >/dev/null 2>&1; check "--gemm with --precision" 2 $?
"$D" bench --predict --cfg "$tmp/tiny.cfg" --precision bf16 >/dev/null 2>&1; check "--predict with --precision bf16" 2 $?
"$D" bench --stock --cfg "$tmp/tiny.cfg" --precision bf16 >/dev/null 2>&1; check "--stock with --precision bf16" 2 $?
"$D" bench --gemm 0 >/dev/null 2>"$tmp/err"; check "--gemm 0" 2 $?
contains "--gemm 0 is reported" "$(cat "$tmp/err")" "--gemm"
"$D" bench --gemm 64 --cfg "$tmp/tiny.cfg" >/dev/null 2>"$tmp/err"; check "--gemm with --cfg" 2 $?
"$D" bench --gemm 64 --compare >/dev/null 2>&1; check "--gemm with --compare" 2 $?
"$D" bench --cfg "$tmp/tiny.cfg" --torch 'vgg16;true' >/dev/null 2>"$tmp/err"; check "--torch with a bad name" 2 $?
contains "a bad --torch name is reported" "$(cat "$tmp/err")" "--torch"

# OpenBLAS runs the kernels darkfold chose, unless the user chose.
# --predict: latency over 100 runs, throughput at batch 1 to 64, and the best.
out=$("$D" bench --predict --cfg "$tmp/tiny.cfg" --size 12 --iters 2 2>"$tmp/err"); check "bench --predict" 0 $?
contains "batch-1 latency over 100 runs" "$out" "over 100 runs"
printf '%s\n' "$out" | awk '
  /^latency, batch 1: median/ { med = $5; p99 = $8; lat = 1 }
  /^throughput, batch/ { b = $3; sub(":", "", b); want = want " " b; if ($4 + 0 > best) { best = $4 + 0; bb = b } }
  /^best: batch/ { gb = $3; sub(",", "", gb); gi = $4 + 0 }
  END { exit !(lat && med != "" && p99 + 0 >= med + 0 && want == " 1 2 4 8 16 32 64" &&
               gb == bb && gi == best) }' &&
  echo "ok: --predict names the fastest batch and p99 >= median" ||
  { echo "FAIL: --predict figures inconsistent"; printf '%s\n' "$out"; fail=1; }
"$D" bench --predict --compare --cfg "$tmp/tiny.cfg" >/dev/null 2>&1; check "--predict with --compare" 2 $?
# --conv-algos: each convolutional layer timed with each algorithm, and the
# rule's choice (64 channels at 64x64 output: Winograd F(4x4); the RGB
# layer: GEMM).
cat > "$tmp/wino.cfg" <<'CFG'
[net]
batch=2
width=16
height=16
channels=3

[convolutional]
filters=64
size=3
stride=1
pad=1
activation=relu

[convolutional]
filters=64
size=3
stride=1
pad=1
activation=relu

[convolutional]
filters=8
size=3
stride=2
pad=1
activation=relu

[connected]
output=2
activation=linear

[softmax]
CFG
out=$("$D" bench --conv-algos --cfg "$tmp/wino.cfg" --size 64 --batch 2 --iters 1 2>"$tmp/err"); check "bench --conv-algos" 0 $?
printf '%s\n' "$out" | awk '
  $1 == "0" && $2 == "3" && $NF == "gemm" { a = 1 }
  $1 == "1" && $2 == "64" && $NF == "winograd4" { b = 1 }
  $1 == "2" && $2 == "64" && $NF == "gemm" && $(NF - 2) == "-" { c = 1 }
  END { exit !(a && b && c) }' &&
  echo "ok: --conv-algos names the rule's choice per layer" ||
  { echo "FAIL: --conv-algos: rule's choices"; printf '%s\n' "$out"; fail=1; }
for a in gemm winograd winograd4 rule; do
  out=$("$D" bench --cfg "$tmp/wino.cfg" --size 16 --batch 2 --iters 1 --conv-algo $a 2>"$tmp/err"); check "bench --conv-algo $a" 0 $?
done
"$D" bench --cfg "$tmp/wino.cfg" --conv-algo fft >/dev/null 2>&1; check "--conv-algo fft" 2 $?
"$D" bench --conv-algos --compare --cfg "$tmp/wino.cfg" >/dev/null 2>&1; check "--conv-algos with --compare" 2 $?
out=$(OPENBLAS_CORETYPE=Haswell "$D" --version); check "--version with a user core" 0 $?
contains "a user-set OPENBLAS_CORETYPE is kept" "$out" "core Haswell"
out=$(env -u OPENBLAS_CORETYPE "$D" --version)
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { case " $flags " in *" $1 "*) return 0;; *) return 1;; esac; }
if has avx512f && has avx512bw && has avx512dq && has avx512vl && has avx512cd; then
  if has avx512_bf16; then want=Cooperlake; else want=SkylakeX; fi
elif has avx2 && has fma; then
  if grep -qm1 AuthenticAMD /proc/cpuinfo; then want=Zen; else want=Haswell; fi
else want=""; fi
if [ -n "$want" ]; then
  contains "the core follows the CPU ($want)" "$out" "core $want"
  # A user core that is not darkfold's choice is kept, with a warning
  # naming both; darkfold's own choice given by the user, or none, is quiet.
  other=Sandybridge; [ "$want" = Sandybridge ] && other=Nehalem
  err=$(OPENBLAS_CORETYPE=$other "$D" --version 2>&1 >/dev/null)
  contains "a replaced core is warned about" "$err" "OPENBLAS_CORETYPE=$other from the environment replaces darkfold's choice for this CPU, $want"
  err=$(OPENBLAS_CORETYPE=$want "$D" --version 2>&1 >/dev/null)
  [ -z "$err" ] && echo "ok: darkfold's own core set by the user: no warning" ||
    { echo "FAIL: warning for the core darkfold would pick: $err"; fail=1; }
  err=$(env -u OPENBLAS_CORETYPE "$D" --version 2>&1 >/dev/null)
  [ -z "$err" ] && echo "ok: no core set: no warning" || { echo "FAIL: unexpected warning: $err"; fail=1; }
fi
exit $fail
