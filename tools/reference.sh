#!/usr/bin/env bash
# reference.sh: refresh results/reference/<experiment>/ from a finished study.
#
#   tools/reference.sh DARKFOLD EXPERIMENT clean    remove the study's results first
#   tools/reference.sh DARKFOLD EXPERIMENT SECONDS  copy them, SECONDS the study's wall time
#
# Copies the experiment's unit result files (not their weights, checkpoints
# or logs), summary.json, the tables, report.md and the figures (PNG, SVG and
# the .dat files gnuplot drew them from) into results/reference/<name>/, and
# writes a README there saying how they were made. Run by
# `make -f Makefile.bench reference` after the study; see docs/results.md.
set -euo pipefail
darkfold=$1 exp=$2 seconds=$3
name=$(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$exp" | head -1)
results_dir=$(sed -n 's/^ *"results_dir": *"\([^"]*\)".*/\1/p' "$exp" | head -1)
src=${results_dir:-results}/$name
dest=results/reference/$name
if [ "$seconds" = clean ]; then
  rm -rf "$src"
  echo "reference: removed $src: the study reruns every unit"
  exit 0
fi
[ -s "$src/summary.json" ] || { echo "reference: no '$src/summary.json': the study did not finish" >&2; exit 1; }

tmp=$(mktemp -d "results/reference/.$name.XXXXXX" 2>/dev/null || { mkdir -p results/reference; mktemp -d "results/reference/.$name.XXXXXX"; })
trap 'rm -rf "$tmp"' EXIT
n=0
for f in "$src"/*/r*-f*.json; do
  m=$(basename "$(dirname "$f")")
  mkdir -p "$tmp/$m"
  cp "$f" "$tmp/$m/"
  n=$((n + 1))
done
cp "$src"/summary.json "$src"/summary.md "$src"/summary.csv "$src"/summary.tex "$src"/report.md "$tmp/"
mkdir -p "$tmp/figures"
for f in "$src"/figures/*.png "$src"/figures/*.svg "$src"/figures/*.dat; do
  [ -e "$f" ] && cp "$f" "$tmp/figures/"
done

version=$("$darkfold" --version | sed -n "1s/^darkfold //p")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
cat > "$tmp/README.md" <<MD
# Reference results: \`$exp\`

The shipped study's results as produced by \`make -f Makefile.bench reference\`
(which runs \`make -f Makefile.bench study EXP=$exp\` and copies its output here).
Open [report.md](report.md) for the verdict, tables and figures.

| | |
|---|---|
| darkfold | $version, commit $commit$dirty |
| machine | $(nproc) cores ($cpu), $mem |
| study wall time | $((seconds / 60)) min $((seconds % 60)) s (\`make -f Makefile.bench study\`, $(nproc) units at a time) |
| unit files | $n |

The unit result files are here without their weights, checkpoints and
Darknet logs. \`tests/test_reference.sh\` reruns \`darkfold report\` on them
and requires summary.json, the tables, report.md and every figure's data
file to come out byte for byte as committed; \`tests/test_reference_stale.sh\`
fails when the unit files' darkfold version or experiment hash is no longer
the current one. Then rerun \`make -f Makefile.bench reference\` and commit
the result.
MD
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
du -sh "$dest"
echo "reference: refreshed $dest ($n unit files)"
