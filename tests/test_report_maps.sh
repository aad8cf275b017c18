#!/usr/bin/env bash
# test_report_maps.sh: the anomaly-map figure of a one-class model. Two
# one-class units (cfg/ae.cfg at 16x16, metrics.pixel) keep the maps of
# their anomalous test images as grey PNGs on the scale their unit file
# records; `darkfold report` picks the best and worst image per defect type
# into summary.json (checked against a pick worked out here from the unit
# files), draws figures/maps-ae.png and .txt at the size the grid implies
# and shows them in report.md; a missing map file skips the figure with one
# warning and leaves report.md as it was; a map that cannot be written
# fails its unit.
. "${SRCDIR:?}/tests/unit_common.sh"

cat > "$T/mp.json" <<JSON
{
  "name": "mp",
  "results_dir": "$T/results",
  "dataset": { "root": "$T/synth", "normal": ["test/good"], "anomalous": ["test/combined"],
               "width": 16, "height": 16, "channels": 3, "synthetic": false },
  "models": { "ae": { "cfg": "$S/cfg/ae.cfg", "kind": "one_class", "score": "max_local",
                      "score_k": 3, "epochs": 1 } },
  "cv": { "k": 2, "seed": 5 },
  "training": { "epochs": 1, "batch": 8 },
  "metrics": { "pixel": true }
}
JSON
for f in 0 1; do
  (cd "$T" && "$D" run mp.json --model ae --repeat 0 --fold $f) >"$T/out" 2>&1
  check "one-class unit r0-f$f" 0 $? || cat "$T/out"
done
R=$T/results/mp

# Every anomalous test image has its map, 16x16 8-bit grey, and no normal
# one; the largest map pixel of a unit is white, as the scale is the
# largest value of the unit's maps.
python3 - "$R/ae" <<'PY' && ok "maps of the anomalous images on the recorded scale" || bad "unit maps"
import json, os, struct, sys, zlib
def grey(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", path
    w, h, depth, colour = struct.unpack(">IIBB", b[16:26])
    assert (w, h, depth, colour) == (16, 16, 8, 0), (path, w, h, depth, colour)
    data, i = b"", 8
    while i < len(b):
        n, t = struct.unpack(">I4s", b[i:i + 8])
        if t == b"IDAT":
            data += b[i + 8:i + 8 + n]
        i += 12 + n
    raw, rows, prev = zlib.decompress(data), [], [0] * w
    for y in range(h):
        f, line = raw[y * (w + 1)], list(raw[y * (w + 1) + 1:(y + 1) * (w + 1)])
        for x in range(w):
            a = line[x - 1] if x else 0
            up, c = prev[x], prev[x - 1] if x else 0
            if f == 1: line[x] = (line[x] + a) & 255
            elif f == 2: line[x] = (line[x] + up) & 255
            elif f == 3: line[x] = (line[x] + (a + up) // 2) & 255
            elif f == 4:
                p = a + up - c
                pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return rows
for f in (0, 1):
    d = json.load(open(f"{sys.argv[1]}/r0-f{f}.json"))
    scale = d["pixel_metrics"]["map_scale"]
    assert isinstance(scale, float) and scale > 0, scale
    top, n = 0, 0
    for i, p in enumerate(d["predictions"]):
        png = f"{sys.argv[1]}/r0-f{f}/maps/{i}.png"
        assert os.path.exists(png) == (p["label"] == 1), (png, p["label"])
        if p["label"] == 1:
            n += 1
            top = max(top, max(max(r) for r in grey(png)))
    assert n > 0 and top == 255, (n, top)
PY

out=$(cd "$T" && "$D" report mp.json 2>&1); check "report" 0 $? || printf '%s\n' "$out"

# The pick, worked out from the unit files: the anomalous images of
# repeat 0 in path order; per defect type (first seen first) the largest
# margin score - threshold is best, the smallest worst, ties to the first.
python3 - "$R" <<'PY' && ok "summary.json maps: the cells picked from the unit files" || bad "summary maps"
import json, sys
R = sys.argv[1]
items = []
for f in (0, 1):
    d = json.load(open(f"{R}/ae/r0-f{f}.json"))
    for i, p in enumerate(d["predictions"]):
        if p["label"] == 1:
            items.append((p["path"], p["defect"], p["p_anomalous"], d["threshold"]["value"],
                          f, i, d["pixel_metrics"]["map_scale"]))
items.sort(key=lambda t: t[0].encode())
defects = []
for t in items:
    if t[1] not in defects:
        defects.append(t[1])
maps = json.load(open(f"{R}/summary.json"))["models"]["ae"]["maps"]
assert (maps["repeat"], maps["width"], maps["height"], maps["channels"]) == (0, 16, 16, 3), maps
assert [r["defect"] for r in maps["rows"]] == defects, maps["rows"]
for row in maps["rows"]:
    mine = [t for t in items if t[1] == row["defect"]]
    margin = [t[2] - t[3] for t in mine]
    best = mine[margin.index(max(margin))]
    worst = mine[margin.index(min(margin))]
    for key, t in (("best", best), ("worst", worst)):
        c = row[key]
        path, defect, score, thr, f, i, scale = t
        want_mask = path.replace(f"/test/{defect}/", f"/ground_truth/{defect}/")[:-4] + "_mask.png"
        assert c["unit"] == f"r0-f{f}" and c["image"] == path, (key, c, t)
        assert c["score"] == score and c["threshold"] == thr and c["map_scale"] == scale, (c, t)
        assert c["map"] == f"{R}/ae/r0-f{f}/maps/{i}.png", c["map"]
        assert c["mask"] == want_mask, c["mask"]
    assert best != worst or len(mine) == 1
PY

# The figure: one row per defect type, panels 16 px upscaled 8x
# (docs/results.md); size from the grid layout of harness/mapfig.h:
# width 8 + 12 * len(label) + 8 + 2 * (3 * 128 + 2 * 2) + 12 + 8,
# height 8 + 16 + 2 + rows * (128 + 12) + 12 + 2 + 16 + 8.
python3 - "$R" <<'PY' && ok "figure size as the grid implies" || bad "figure size"
import json, struct, sys
R = sys.argv[1]
rows = json.load(open(f"{R}/summary.json"))["models"]["ae"]["maps"]["rows"]
label = max(len(r["defect"]) for r in rows)
w = 8 + 12 * label + 8 + 2 * (3 * 128 + 2 * 2) + 12 + 8
h = 8 + 16 + 2 + len(rows) * (128 + 12) + 12 + 2 + 16 + 8
b = open(f"{R}/figures/maps-ae.png", "rb").read()
assert struct.unpack(">II", b[16:24]) == (w, h), (struct.unpack(">II", b[16:24]), w, h)
PY
cap=$(cat "$R/figures/maps-ae.txt" 2>/dev/null)
contains "caption names the upscaling" "$cap" "panels upscaled 8x (nearest neighbour) from 16x16"
md=$(cat "$R/report.md")
contains "report.md shows the figure" "$md" "![Anomaly maps of ae](figures/maps-ae.png)"
contains "report.md has its caption" "$md" "*Anomaly maps of ae: per defect type,"
cp "$R/report.md" "$T/report-before.md"

# A map file gone (unit files copied alone): one warning, no figure, the
# same report.md, exit 0.
map=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["models"]["ae"]["maps"]["rows"][0]["best"]["map"])' "$R/summary.json")
rm -f "$map"
out=$(cd "$T" && "$D" report mp.json 2>&1); check "report without a map file" 0 $?
contains "warns" "$out" "warning: anomaly-map figure of 'ae' not drawn: '$map' is missing"
[ "$(printf '%s\n' "$out" | grep -c 'anomaly-map')" = 1 ] && ok "one warning line" || bad "warning lines: $out"
[ ! -e "$R/figures/maps-ae.png" ] && [ ! -e "$R/figures/maps-ae.txt" ] &&
  ok "the old figure is removed" || bad "a figure that no longer matches is left"
cmp -s "$R/report.md" "$T/report-before.md" && ok "report.md unchanged" ||
  { bad "report.md changed"; diff "$T/report-before.md" "$R/report.md" | head; }

# A map that cannot be written fails the unit, saying why.
rm -rf "$R/ae/r0-f1.json" "$R/ae/r0-f1/maps" && touch "$R/ae/r0-f1/maps"
out=$(cd "$T" && "$D" run mp.json --model ae --repeat 0 --fold 1 2>&1); check "unit with an unwritable maps folder" 1 $?
contains "names the folder" "$out" "$R/ae/r0-f1/maps"
contains "the unit fails" "$out" "ae r0-f1: failed: cannot write the anomaly maps"
grep -q '"status": "failed"' "$R/ae/r0-f1.json" && ok "its file says failed" || bad "no failed unit file"
exit $fail
