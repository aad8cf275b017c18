#!/usr/bin/env bash
# test_disk_full.sh: a full disk gives one error line naming the file, exit 1,
# and no half-written file. Needs root to mount a small tmpfs; skipped (77)
# where that is not allowed.
set -u
D=${DARKFOLD:?DARKFOLD must name the darkfold binary}
mnt=$(mktemp -d)
if ! mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
  rmdir "$mnt"; echo "skipped: cannot mount a tmpfs here"; exit 77
fi
trap 'umount "$mnt"; rmdir "$mnt"' EXIT
fail=0
"$D" synth --out "$mnt/x" --seed 1 --size 64 >/dev/null 2>"$mnt.err"
rc=$?
[ "$rc" = 1 ] && echo "ok: synth exits 1 on a full disk" || { echo "FAIL: exit $rc"; fail=1; }
lines=$(wc -l < "$mnt.err")
[ "$lines" = 1 ] && echo "ok: one error line" || { echo "FAIL: $lines lines"; cat "$mnt.err"; fail=1; }
grep -q "^error: cannot write '$mnt/x/cable/.*\.png': No space left on device$" "$mnt.err" \
  && echo "ok: the message names the file and the cause" || { echo "FAIL: message"; cat "$mnt.err"; fail=1; }
left=$(find "$mnt" -name '*.tmp.*' | wc -l)
[ "$left" = 0 ] && echo "ok: no temporary file left" || { echo "FAIL: $left temporaries"; fail=1; }
# every PNG that exists is complete: it decodes
bad=0
for f in $(find "$mnt" -name '*.png'); do
  tail -c 12 "$f" | od -An -c | grep -q 'I   E   N   D' || bad=$((bad + 1))
done
[ "$bad" = 0 ] && echo "ok: every PNG written is whole (ends in IEND)" || { echo "FAIL: $bad partial PNGs"; fail=1; }
rm -f "$mnt.err"
exit $fail
