#!/usr/bin/env bash
# The main job, end to end on an embedded synthetic dataset (or the real one with STREETSEG_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="node dist/src/cli/main.js"
OUT=${DEMO_OUT:-runs/demo}
mkdir -p "$OUT"
$CLI info
echo
echo "== engine benchmark =="
$CLI bench engine --quick
echo
echo "== synthetic driving scenes =="
$CLI synth --dir "$OUT/data" --count 24 --seed 0
$CLI stats --data "$OUT/data" --format camseq01 --void class --png "$OUT/class-stats.png"
echo "demo outputs in $OUT"
