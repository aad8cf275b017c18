#!/bin/sh
# test_predict.sh: `darkfold predict` on directories and lists, in each
# output format, at several batch sizes, with its exit codes and an
# unreadable image in the middle of a batch. Scores are checked against the
# unit's own recorded predictions (written by `darkfold run`).
. "$(dirname "$0")/unit_common.sh"

write_experiment pr 1 "" "\"dense\": \"$S/cfg/dense.cfg\""
run_unit pr dense; check "a unit trains" 0 $?
U=$T/results/pr/dense/r0-f0
f=$U.json

# Reference: path -> recorded score, and the unit's threshold.
python3 - "$f" > "$T/ref.tsv" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
for q in u["predictions"]:
    print("%s\t%r" % (q["path"], q["p_anomalous"]))
PY
[ -s "$T/ref.tsv" ] && ok "reference scores" || { bad "no reference scores"; exit 1; }

# agree FILE: every jsonl line of FILE whose path has a recorded score has
# exactly that score (both are printed with 17 digits); prints how many
# lines matched a reference.
agree() {
  python3 - "$T/ref.tsv" "$1" <<'PY'
import json, sys
ref = dict((l.split("\t")[0], float(l.split("\t")[1])) for l in open(sys.argv[1]))
n = 0
for line in open(sys.argv[2]):
    q = json.loads(line)
    if q["path"] in ref:
        assert q["score"] == ref[q["path"]], (q, ref[q["path"]])
        n += 1
print(n)
PY
}

# The held-out images, in the order the unit file lists them.
cut -f1 "$T/ref.tsv" > "$T/list"
nref=$(wc -l < "$T/list")

# Identical scores, bit for bit, whatever the batching: the same as the
# unit's evaluation gave (inference runs every product with the ordered
# GEMM, whose results do not depend on the other images in the batch).
for b in 1 3 8 64; do
  "$D" predict --batch "$b" --format jsonl --list "$T/list" "$U" > "$T/b$b.jsonl" 2>"$T/err"
  rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 3 ] && ok "--batch $b scores every image" || { bad "--batch $b: exit $rc"; cat "$T/err"; }
  n=$(agree "$T/b$b.jsonl") && [ "$n" = "$nref" ] && ok "--batch $b: exactly the unit's scores ($n images)" ||
    bad "--batch $b: scores differ from the unit's ($n)"
done
"$D" predict --batch 3 --format jsonl --list "$T/list" "$U" 2>/dev/null | cmp -s - "$T/b3.jsonl" &&
  ok "the same batch gives the same bytes" || bad "the same batch gave different scores"
one=$(head -1 "$T/list")
"$D" predict --format jsonl "$U" "$one" > "$T/one.jsonl" 2>/dev/null
[ "$(agree "$T/one.jsonl")" = 1 ] && ok "a single image scores as the unit did" || bad "single image"

# Directories: sorted, recursive, PNG only, the others reported.
mkdir -p "$T/in/b" "$T/in/z"
set -- $(head -3 "$T/list")
cp "$1" "$T/in/b/2.png"; cp "$2" "$T/in/b/1.png"; cp "$3" "$T/in/a.png"
cp "$1" "$T/in/with,comma.png"
echo notes > "$T/in/notes.txt"; echo x > "$T/in/z/x.jpg"
"$D" predict "$U" "$T/in" > "$T/dir.tsv" 2>"$T/dir.err"; rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] && ok "a directory is scored" || bad "directory: exit $rc"
printf '%s\n' "$T/in/a.png" "$T/in/b/1.png" "$T/in/b/2.png" "$T/in/with,comma.png" > "$T/dir.want"
cut -f1 "$T/dir.tsv" | cmp -s - "$T/dir.want" && ok "directory images sorted and recursive" ||
  { bad "directory order"; cat "$T/dir.tsv"; }
contains "non-PNG file reported" "$(cat "$T/dir.err")" "notes.txt"
contains "non-PNG file in a subdirectory reported" "$(cat "$T/dir.err")" "z/x.jpg"

# Lists: a file with an empty line, and standard input.
printf '%s\n\n%s\n' "$T/in/b/2.png" "$T/in/a.png" > "$T/l2"
"$D" predict --list "$T/l2" "$U" 2>/dev/null | cut -f1 > "$T/l2.out"
printf '%s\n' "$T/in/b/2.png" "$T/in/a.png" | cmp -s - "$T/l2.out" && ok "--list FILE in its order" || bad "--list FILE"
printf '%s\n' "$T/in/a.png" | "$D" predict --list - "$U" 2>/dev/null | cut -f1 > "$T/l3.out"
[ "$(cat "$T/l3.out")" = "$T/in/a.png" ] && ok "--list - reads standard input" || bad "--list -"
"$D" predict --list "$T/nolist" "$U" >/dev/null 2>"$T/err"; check "an unreadable list" 1 $?
contains "unreadable list named" "$(cat "$T/err")" "nolist"

# Formats: the same scores and verdicts in tsv, csv and jsonl.
"$D" predict --format jsonl "$U" "$T/in" > "$T/f.jsonl" 2>/dev/null
"$D" predict --format csv "$U" "$T/in" > "$T/f.csv" 2>/dev/null
python3 - "$T/dir.tsv" "$T/f.csv" "$T/f.jsonl" <<'PY' && ok "tsv, csv and jsonl agree" || bad "formats disagree"
import csv, json, sys
tsv = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
rows = list(csv.reader(open(sys.argv[2], newline="")))
assert rows[0] == ["path", "score", "verdict"], rows[0]
js = [json.loads(l) for l in open(sys.argv[3])]
assert len(tsv) == len(rows) - 1 == len(js) == 4
for t, c, j in zip(tsv, rows[1:], js):
    assert t[0] == c[0] == j["path"], (t, c, j)
    assert t[1] == c[1] == "%.6f" % j["score"], (t, c, j)
    assert t[2] == c[2] == j["verdict"] and j["verdict"] in ("normal", "anomalous")
assert js[3]["path"].endswith("with,comma.png")
PY
"$D" predict --format xml "$U" "$T/in" >/dev/null 2>&1; check "an unknown format is a usage error" 2 $?
"$D" predict --batch 0 "$U" "$T/in" >/dev/null 2>&1; check "--batch 0 is a usage error" 2 $?

# Exit codes, from thresholds above and below every score.
hi=$(python3 -c "import json,sys; print(min(0.999999, max(json.loads(l)['score'] for l in open(sys.argv[1])) + 1e-4))" "$T/b8.jsonl")
lo=$(python3 -c "import json,sys; print(max(1e-6, min(json.loads(l)['score'] for l in open(sys.argv[1])) / 2))" "$T/b8.jsonl")
"$D" predict --threshold "$hi" "$U" "$T/in" >/dev/null 2>&1; check "no image anomalous: 0" 0 $?
"$D" predict --threshold "$lo" "$U" "$T/in" >/dev/null 2>&1; check "an image anomalous: 3" 3 $?

# An unreadable image in the middle of a batch: reported, the rest scored.
head -c 100 "$1" > "$T/broken.png"
{ head -3 "$T/list"; echo "$T/broken.png"; sed -n '4,7p' "$T/list"; } > "$T/mid"
"$D" predict --batch 8 --format jsonl --threshold "$hi" --list "$T/mid" "$U" > "$T/mid.jsonl" 2>"$T/mid.err"
check "a decode failure, nothing anomalous: 4" 4 $?
contains "the broken image is named" "$(cat "$T/mid.err")" "broken.png"
[ "$(wc -l < "$T/mid.jsonl")" = 7 ] && ok "the other 7 images are scored" || bad "$(wc -l < "$T/mid.jsonl") lines after a decode failure"
[ "$(agree "$T/mid.jsonl")" = 7 ] && ok "with their own scores" || bad "scores next to a decode failure"
"$D" predict --batch 8 --threshold "$lo" --list "$T/mid" "$U" >/dev/null 2>&1
check "a decode failure and an anomalous image: 5" 5 $?
# The same at batch 3: the broken image is in the second batch, decoded by
# the second thread while the first batch is scored; the lines keep the
# order of the list.
"$D" predict --batch 3 --format jsonl --threshold "$hi" --list "$T/mid" "$U" > "$T/mid3.jsonl" 2>"$T/mid3.err"
check "a decode failure in a later batch: 4" 4 $?
contains "the broken image is named" "$(cat "$T/mid3.err")" "broken.png"
python3 - "$T/mid" "$T/mid3.jsonl" <<'PY' && ok "the other 7 images, in the list's order" || bad "order after a decode failure"
import json, sys
want = [l.strip() for l in open(sys.argv[1]) if "broken" not in l]
got = [json.loads(l)["path"] for l in open(sys.argv[2])]
assert got == want, (got, want)
PY
[ "$(agree "$T/mid3.jsonl")" = 7 ] && ok "with their own scores" || bad "scores next to a decode failure at batch 3"
exit $fail
