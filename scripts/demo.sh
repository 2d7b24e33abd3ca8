#!/usr/bin/env bash
# The main job, end to end: train a small SegFormer, evaluate it on the held-out split, write the report.
# Default: embedded synthetic driving scenes (a few minutes on 2 cores). DATA=DIR runs the same on a real
# dataset (camseq01, camvid or images/+masks/ layout) with the demo's small model and schedule.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI="node dist/src/cli/main.js"
OUT=${DEMO_OUT:-runs/demo}
mkdir -p "$OUT"
$CLI info
echo
args=(--preset demo)
if [ -n "${DATA:-}" ]; then
  args+=(--data "$DATA")
  [ -d "$DATA/trainannot" ] && args+=(--format camvid --train-split train --val-split val --void ignore)
else
  data="$OUT/data"
  if [ ! -f "$data/.complete" ]; then
    echo "== synthetic driving scenes =="
    $CLI synth --dir "$data" --count 120 --seed 0 --width 240 --height 180
    touch "$data/.complete"
  fi
  args+=(--data "$data" --format camseq01)
fi
run="$OUT/run-$(date +%Y%m%d-%H%M%S)"
echo "== streetseg train ${args[*]} --out $run =="
$CLI train "${args[@]}" --out "$run" --progress log > "$OUT/train.json"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").pop());
const e = r.eval, f = (v) => (v === null ? " n/a " : v.toFixed(3));
console.log(`\n== result: ${r.status} after ${r.epochs} epochs, ${r.steps} steps, ${r.seconds} s ==`);
console.log(`val (${e.numImages} held-out images): mIoU ${f(e.meanIou)}  mAcc ${f(e.meanAccuracy)}  aAcc ${f(e.overallAccuracy)}  loss ${f(e.loss)}`);
for (const [k, v] of Object.entries(e.perClassIou)) console.log(`  ${k.padEnd(20)} IoU ${f(v)}  Acc ${f(e.perClassAccuracy[k])}`);
console.log(`\nbest checkpoint: ${r.best}\nreport: ${r.report}`);
' "$OUT/train.json"

# The shipped zoo model on a real street frame when CamVid is at hand (DATA, or ../shared/data), else on
# one of the synthetic scenes above: segmenting needs no training.
zoo=models/camvid-best
frame=$(ls "${DATA:-/nonexistent}"/val/*.png "${STREETSEG_DATA:-../shared/data}"/camvid/val/*.png 2>/dev/null | head -n 1 || true)
[ -n "$frame" ] || frame=$(ls "${data:-$OUT/data}"/*.png 2>/dev/null | grep -v '_L\.png$' | head -n 1 || true)
if [ -d "$zoo" ] && [ -n "$frame" ]; then
  echo
  echo "== streetseg predict --checkpoint $zoo $frame --out $OUT/zoo --overlay =="
  $CLI predict --checkpoint "$zoo" "$frame" --out "$OUT/zoo" --overlay --quiet
  echo "zoo model overlay: $OUT/zoo/$(basename "${frame%.*}")_overlay.png"
fi
