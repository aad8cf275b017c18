#!/usr/bin/env bash
# test_unit_failures.sh: divergence, pretrained weights (of the right and the
# wrong size), and a unit that cannot start, each with the result file the
# contract asks for.
. "${SRCDIR:?}/tests/unit_common.sh"

# A learning rate of 1e6: the loss becomes NaN/Inf in the first epoch.
sed 's/^learning_rate=.*/learning_rate=1000000/' "$S/cfg/dense.cfg" > "$T/huge.cfg"
grep -q '^learning_rate=1000000$' "$T/huge.cfg" || bad "could not set the learning rate"
write_experiment nan 3 "" "\"huge\": \"$T/huge.cfg\""
run_unit nan huge; check "a diverging unit still completes" 0 $?
f=$T/results/nan/huge/r0-f0.json
txt=$(cat "$f" 2>/dev/null)
contains "status diverged" "$txt" '"status": "diverged"'
contains "diverged in epoch 1" "$txt" '"diverged_epoch": 1,'
contains "no metrics" "$txt" '"metrics": null'
contains "no predictions" "$txt" '"predictions": []'
contains "no weights" "$txt" '"weights": null,'
contains "reason given" "$txt" '"reason": "the training loss became NaN or Inf"'
contains "terminal says diverged" "$(cat "$T/out")" "diverged in epoch 1"
[ -e "$T/results/nan/huge/r0-f0/final.weights" ] && bad "diverged unit saved weights" || ok "no weights saved"

# Pretrained weights: a trained dense unit's weights fit another dense unit
# exactly, and its first two layers fit with weights_upto 2.
write_experiment base 1
run_unit base dense; check "base unit" 0 $?
w=$T/results/base/dense/r0-f0/final.weights
# dense at 16x16x3: 768*256+256 + 256*64+64 + 64*2+2 floats, 20-byte header.
want=$((20 + 4 * (768 * 256 + 256 + 256 * 64 + 64 + 64 * 2 + 2)))
[ "$(stat -c %s "$w")" = "$want" ] && ok "weights file has $want bytes" || bad "weights size $(stat -c %s "$w") != $want"
write_experiment pre 1 "" "\"dense\": { \"cfg\": \"$S/cfg/dense.cfg\", \"weights\": \"$w\" }, \"part\": { \"cfg\": \"$S/cfg/dense.cfg\", \"weights\": \"$w\", \"weights_upto\": 2 }"
run_unit pre dense; check "unit from pretrained weights" 0 $?
contains "pretrained unit ok" "$(cat "$T/results/pre/dense/r0-f0.json")" '"status": "ok"'
run_unit pre part; check "unit from two pretrained layers" 0 $?
# weights_upto 2 loads layers 0 and 1 only: with a learning rate of 0 the
# trained weights still hold them, byte for byte, after the 20-byte header,
# while layer 2 keeps its own initial values.
sed 's/^learning_rate=.*/learning_rate=0/' "$S/cfg/dense.cfg" > "$T/frozen.cfg"
write_experiment frozen 1 "" "\"part\": { \"cfg\": \"$T/frozen.cfg\", \"weights\": \"$w\", \"weights_upto\": 2 }"
run_unit frozen part; check "frozen unit from two pretrained layers" 0 $?
fw=$T/results/frozen/part/r0-f0/final.weights
first=$((4 * (768 * 256 + 256 + 256 * 64 + 64)))
cmp -s -i 20:20 -n "$first" "$w" "$fw" && ok "layers 0 and 1 hold the pretrained values" ||
  bad "layers 0 and 1 differ from the pretrained weights"
cmp -s -i $((20 + first)):$((20 + first)) "$w" "$fw" && bad "layer 2 was loaded too" ||
  ok "layer 2 keeps its own values"

# The cnn's weights do not fit the dense net: rejected with both sizes,
# status failed, exit 1.
cw=$T/results/base/cnn/r0-f0/final.weights
run_unit base cnn; check "cnn base unit" 0 $?
have=$(stat -c %s "$cw")
write_experiment wrong 1 "" "\"dense\": { \"cfg\": \"$S/cfg/dense.cfg\", \"weights\": \"$cw\" }"
run_unit wrong dense; check "weights of the wrong size" 1 $?
contains "error gives expected and actual sizes" "$(cat "$T/out")" "expected $want bytes, got $have"
contains "error names the weights file" "$(cat "$T/out")" "$cw"
f=$T/results/wrong/dense/r0-f0.json
contains "status failed" "$(cat "$f" 2>/dev/null)" '"status": "failed"'
contains "failure reason" "$(cat "$f" 2>/dev/null)" '"reason": "the pretrained weights do not fit the network"'
out=$("$D" predict --cfg "$T/results/base/dense/r0-f0/effective.cfg" --weights "$cw" "$T/synth/cable/test/good/000.png" 2>&1)
check "predict rejects weights of the wrong size" 1 $?
contains "predict gives both sizes" "$out" "expected $want bytes, got $have"

# A cfg Darknet would crash on never reaches it: failed, with the cfg's line.
printf '[net]\nbatch=8\nwidth=16\nheight=16\nchannels=3\n\n[convolutionl]\nfilters=2\n\n[softmax]\n' > "$T/bad.cfg"
write_experiment badcfg 1 "" "\"bad\": \"$T/bad.cfg\""
run_unit badcfg bad; check "a bad cfg fails the unit" 1 $?
contains "bad cfg: file and line" "$(cat "$T/out")" "bad.cfg:7"
contains "bad cfg: status failed" "$(cat "$T/results/badcfg/bad/r0-f0.json" 2>/dev/null)" '"status": "failed"'
# A cfg whose batch needs terabytes fails the unit with one line naming the
# cfg's batch line, before Darknet allocates anything (the experiment's batch
# 0 keeps the cfg's).
sed 's/^batch=.*/batch=2147483647/' "$S/cfg/dense.cfg" > "$T/bigbatch.cfg"
write_experiment bigbatch 1 "" "\"big\": \"$T/bigbatch.cfg\""
sed -i 's/"batch": 8/"batch": 0/' "$T/bigbatch.json"
run_unit bigbatch big; check "a batch needing terabytes fails the unit" 1 $?
grep -q "^error: '.*/effective.cfg': line [0-9]*: batch=2147483647 needs [0-9.]* TiB for outputs and gradients" "$T/out" &&
  ok "huge batch: one line with the batch line and the figure" || { bad "huge batch message"; cat "$T/out"; }
contains "huge batch: status failed" "$(cat "$T/results/bigbatch/big/r0-f0.json" 2>/dev/null)" '"status": "failed"'
exit $fail
