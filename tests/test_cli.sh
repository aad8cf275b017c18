#!/usr/bin/env bash
# test_cli.sh: the darkfold program's top level: help, version, usage errors.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
fail=0
check() { # check DESCRIPTION EXPECTED_STATUS ACTUAL_STATUS
  if [ "$2" != "$3" ]; then echo "FAIL: $1: expected exit $2, got $3"; fail=1; else echo "ok: $1"; fi
}
contains() { # contains DESCRIPTION HAYSTACK NEEDLE
  case "$2" in *"$3"*) echo "ok: $1";; *) echo "FAIL: $1: output lacks '$3'"; echo "$2"; fail=1;; esac
}

out=$("$D" --version 2>&1); check "--version" 0 $?
for lib in "darkfold 0.6.0" "darknet 0.0.0+git" "libpng 1.6" "GSL 2." "cJSON 1." "OpenBLAS 0." "core "; do
  contains "--version names $lib" "$out" "$lib"
done

"$D" nosuch >/dev/null 2>/tmp/darkfold-cli-$$; check "unknown command" 2 $?
contains "unknown command names it" "$(cat /tmp/darkfold-cli-$$)" "unknown command 'nosuch'"
contains "unknown command prints usage on stderr" "$(cat /tmp/darkfold-cli-$$)" "usage: darkfold"
"$D" --frobnicate >/dev/null 2>&1; check "unknown option" 2 $?
"$D" >/dev/null 2>&1; check "no command" 2 $?
out=$("$D" --help); check "--help" 0 $?
for c in synth data check plan run report predict bench; do
  contains "--help lists $c" "$out" "  $c "
  sub=$("$D" $c --help); check "$c --help" 0 $?
  contains "$c --help shows its usage" "$sub" "usage: darkfold $c"
done
rm -f /tmp/darkfold-cli-$$
exit $fail
