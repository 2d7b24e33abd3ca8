// Publishes a finished training run as a zoo model: models/NAME/ gets the last checkpoint's config.json and
// model.safetensors, and a README.md model card whose every figure is measured here, from the copied
// files: val metrics by the same evaluation `streetseg eval` runs, latency by `streetseg compare`'s
// measurement, training figures from the run's own metrics.csv. The card's YAML header carries the
// headline metrics as printed, so test/zoo.test.ts can check them against `streetseg eval`.
//
//   node dist/scripts/zoo-card.js --run RUN_DIR --name NAME --command "streetseg train --preset …" --machine "…"
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { compareModels } from '../src/compare/index.js';
import { lastCheckpoint, readMetricsCsv, readRunConfig, runPaths } from '../src/train/run-dir.js';
import { openCheckpoint } from '../src/models/checkpoint.js';
import { loadPretrained } from '../src/models/hf.js';
import { evaluateCheckpoint } from '../src/train/eval-checkpoint.js';
import { median } from '../src/util/median.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { formatMetric } from '../src/metrics/miou.js';
import { smoothingSection } from './zoo-smoothing.js';
import { readZooCard, ZOO_CARD, zooModels, zooRoot, type ZooHeadline } from '../src/models/zoo.js';

const { values: a } = parseArgs({
  options: {
    run: { type: 'string' },
    name: { type: 'string' },
    command: { type: 'string' },
    machine: { type: 'string' },
    note: { type: 'string', default: '' },
    data: { type: 'string' },
    records: { type: 'string' },
    'latency-note': { type: 'string', default: '' },
  },
});
if (!a.run || !a.name || !a.command || !a.machine) {
  console.error('usage: zoo-card --run RUN_DIR --name NAME --command "streetseg train …" --machine "CPU, cores" [--note TEXT] [--data DIR] [--records docs/runs/NAME]');
  process.exit(2);
}
const run = path.resolve(a.run);
const last = lastCheckpoint(run);
if (!last) throw new Error(`${run}: no complete checkpoints/last`);
const runConfig = readRunConfig(run);
const data = a.data ?? runConfig.data;
const records = a.records ?? `docs/runs/${a.name}`;
const split = runConfig.valSplit || 'val';

// The copy is assembled beside its final place and swapped in whole, keeping the old model until then.
const dest = path.join(zooRoot(), a.name);
const tmp = `${dest}.tmp-${process.pid}`;
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(tmp, { recursive: true });
for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json']) {
  if (fs.existsSync(path.join(last, f))) fs.copyFileSync(path.join(last, f), path.join(tmp, f));
}

const ckpt = openCheckpoint(tmp);
const { model } = loadPretrained(ckpt, { log: () => undefined });
const { ev, scales } = await evaluateCheckpoint(model, ckpt, { data, split, batchSize: 8, workers: 1, classWeights: 'none' });
const labels = model.labels;
const compare = await compareModels({
  inputs: [tmp], data, split, runtimes: ['torch', 'onnx', 'onnx-int8'], height: 360, width: 480,
  iters: 20, warmup: 5, evalBatchSize: 8, workers: 1, log: () => undefined,
});
const row = compare.models[0]!;

const rows = readMetricsCsv(runPaths(run).metrics, ['epoch', 'epoch_train_s', 'seconds', 'train_loss', 'val_loss', 'val_miou']);
const lastRow = rows[rows.length - 1]!;
const evalRows = rows.filter((r) => r.val_miou !== null);
const epochSeconds = median(rows.slice(1).map((r) => Number(r.epoch_train_s)));

const m = ev.metrics;
const headline: ZooHeadline = {
  split,
  epoch: Number(lastRow.epoch),
  mean_iou: formatMetric(m.meanIou),
  mean_accuracy: formatMetric(m.meanAccuracy),
  overall_accuracy: formatMetric(m.overallAccuracy),
  scales,
};
const pct = (v: number): string => (100 * v).toFixed(1);
const fixedMs = (ms: number): string => ms.toFixed(1);
const rt = (name: string) => row.runtimes.find((r) => r.runtime === name);
const yaml = [
  '---',
  'library_name: streetseg',
  'license: apache-2.0',
  'tags: [semantic-segmentation, camvid, driving]',
  'datasets: [camvid]',
  `${ZOO_CARD.headerKey}:`,
  `  model: ${runConfig.model}`,
  `  split: ${headline.split}`,
  `  epoch: ${headline.epoch}`,
  `  mean_iou: "${headline.mean_iou}"`,
  `  mean_accuracy: "${headline.mean_accuracy}"`,
  `  overall_accuracy: "${headline.overall_accuracy}"`,
  `  scales: [${scales.join(', ')}]`,
  '---',
];
const perClass = labels.map((l, i) => `| ${l} | ${formatMetric(m.perClassIou[i]!)} | ${formatMetric(m.perClassAccuracy[i]!)} |`);
const curve = evalRows.map((r) => `| ${r.epoch} | ${Number(r.train_loss).toFixed(3)} | ${Number(r.val_loss).toFixed(3)} | ${Number(r.val_miou).toFixed(4)} | ${(Number(r.seconds) / 60).toFixed(1)} |`);
const runtimes = row.runtimes.map((r) => `| ${r.runtime} | ${fixedMs(r.latencyMs)} | ${r.fps.toFixed(1)} | ${(r.fileBytes / 1e6).toFixed(2)} | ${r.peakRssMiB} |`);
const card = `${yaml.join('\n')}

# ${a.name}: ${runConfig.model} trained from scratch on CamVid

${a.note ? `${a.note}\n\n` : ''}Use it (an HF checkpoint directory: \`config.json\` + \`model.safetensors\`):

\`\`\`bash
streetseg predict --checkpoint models/${a.name} drive.mp4 --out pred/ --overlay
streetseg eval --checkpoint models/${a.name} --data ../shared/data/camvid --split ${split}
streetseg export --checkpoint models/${a.name} --onnx ${a.name}.onnx
\`\`\`

## Headline: CamVid ${split}, the last epoch of the run below

| mIoU | mAcc | aAcc | images | input scale |
|---:|---:|---:|---:|---|
| **${headline.mean_iou}** (${pct(m.meanIou)}) | ${headline.mean_accuracy} | ${headline.overall_accuracy} | ${ev.numImages} | ${scales.length === 1 && scales[0] === 1 ? 'the full frame size' : `${scales.join(', ')} of the frame size`}, scored on the full-size labels |

By the rule of docs/recipes.md: the evaluation after the last epoch (${headline.epoch}), not a picked one.
\`streetseg eval\` prints these digits for this directory (checked by test/zoo.test.ts). CamVid's ${split}
split is the 101 frames of sequence 0016E5 (CamSeq01); train holds other frames of the same drive.

| class | IoU | Acc |
|---|---:|---:|
${perClass.join('\n')}

## Training

- Command: \`${a.command}\`; every resolved setting is in [${records}/config.json](../../${records}/config.json).
- Data: CamVid train (367 frames, SegNet layout); random init, no pretrained weights.
- Wall time: **${(Number(lastRow.seconds) / 60).toFixed(1)} min** for ${lastRow.epoch} epochs, evaluations included; median epoch ${epochSeconds.toFixed(1)} s.
- Machine: ${a.machine}.

| epoch | train loss | val loss | val mIoU | wall min |
|---:|---:|---:|---:|---:|
${curve.join('\n')}

## Size and speed

${row.params.toLocaleString('en-US')} parameters, ${(row.sizeBytes / 1e6).toFixed(2)} MB of float32 weights.
Latency at the model's inference size ${row.latencyHeight}×${row.latencyWidth}, batch 1, ${compare.threads} threads,
median of ${compare.iters} runs (\`streetseg compare models/${a.name} --data … --runtimes torch,onnx,onnx-int8\`),
measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? 'this CPU'} (${os.cpus().length} cores)${a['latency-note'] ? `; ${a['latency-note']}` : ''}:

| runtime | ms | FPS | file MB | peak RSS MiB |
|---|---:|---:|---:|---:|
${runtimes.join('\n')}

${rt('onnx-int8') ? 'onnx-int8 is the dynamic int8 export (`export --int8`).' : ''}

${smoothingSection(a.name, tmp)}## Data licence

CamVid is for research use; these weights were trained on it and inherit that condition.
`;
writeFileAtomic(path.join(tmp, ZOO_CARD.file), card);
const old = `${dest}.old-${process.pid}`;
if (fs.existsSync(dest)) fs.renameSync(dest, old);
fs.renameSync(tmp, dest);
fs.rmSync(old, { recursive: true, force: true });

// The zoo's index lists every card's headline, read back from the cards themselves.
const index = zooModels().map((d) => {
  const c = readZooCard(d);
  return `| [${path.basename(d)}](${path.basename(d)}/README.md) | ${c.model} | ${c.split} | ${c.mean_iou} | ${c.mean_accuracy} | ${c.overall_accuracy} | ${c.scales.join(', ')} |`;
});
writeFileAtomic(path.join(zooRoot(), 'README.md'), `# Model zoo

Trained HF checkpoint directories (\`config.json\` + \`model.safetensors\`), each with a model card giving its
command, data, metrics, time and speed. Any command that takes \`--checkpoint\` takes \`models/NAME\`.
Headlines are the last epoch of the documented run on CamVid (test/zoo.test.ts re-evaluates each).
Written by \`node dist/scripts/zoo-card.js\` from a finished run.

| model | family | split | mIoU | mAcc | aAcc | input scale |
|---|---|---|---:|---:|---:|---|
${index.join('\n')}
`);
console.log(JSON.stringify({ model: dest, ...headline, latency: row.runtimes.map((r) => ({ runtime: r.runtime, ms: r.latencyMs })) }));
