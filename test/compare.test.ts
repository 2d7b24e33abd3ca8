// `streetseg compare` end to end on two tiny models (a real tiny SegFormer run and a MobileNetV2 checkpoint)
// and tiny synthetic data: its metrics are `streetseg eval`'s, its sizes and parameter counts the files' and
// the models', its latencies consistent, its chart a PNG of the stated size, the run's report linked.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { CHART_SIZE } from '../src/compare/chart.js';
import { measureInChild } from '../src/compare/measure.js';
import { identifyVariant, matchRecipe, resolveInput, variantName } from '../src/compare/inputs.js';
import type { CompareResult } from '../src/compare/types.js';
import { defaultCallbacks } from '../src/train/callbacks/index.js';
import { resolveConfig } from '../src/train/config.js';
import { presetConfig } from '../src/train/presets.js';
import { Trainer } from '../src/train/trainer.js';
import { createModel, getFamily, loadPretrained, savePretrained } from '../src/models/index.js';
import { addReportLink, readReportLinks, writeReport } from '../src/report/index.js';
import { manualSeed } from '../src/torch/index.js';
import { repoRoot } from '../src/util/paths.js';
import { peakRssMiB } from '../src/util/proc.js';
import { tinyConfig, tinyDataset, tmpRun } from './helpers/train-fixture.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;

describe('streetseg compare', () => {
  let data: string;
  let runDir: string;
  let mnv2: string;
  let out: string;
  let result: CompareResult;
  let stdout: string;

  before(async () => {
    data = await tinyDataset();
    runDir = tmpRun('cmp');
    const cfg = resolveConfig(tinyConfig(data, { epochs: 2 }));
    const { callbacks } = defaultCallbacks(cfg, 'none');
    const fit = await new Trainer(cfg, runDir, { callbacks, log: () => undefined }).fit();
    assert.equal(fit.how, 'finished');
    const labels = (JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { resolved: { classes: string[] } }).resolved.classes;
    manualSeed(3);
    const m = createModel('mobilenet-v2', labels, { depth_multiplier: 0.35, output_stride: 32 });
    mnv2 = path.join(tmpRun('cmp-mnv2'), 'ckpt');
    savePretrained(m, mnv2);
    m.dispose();
    out = path.join(tmpRun('cmp-out'), 'cmp');
    const r = run(['compare', runDir, mnv2, '--data', data, '--out', out, '--height', '64', '--width', '96', '--iters', '3', '--warmup', '1', '--workers', '0']);
    assert.equal(r.status, 0, r.stderr);
    stdout = r.stdout;
    result = lastJson(r.stdout) as unknown as CompareResult;
  });

  it("names the models and says which checkpoint of the run and what it was trained with", () => {
    const [a, b] = result.models;
    assert.equal(result.models.length, 2);
    assert.equal(a!.kind, 'run');
    const best = fs.readdirSync(path.join(runDir, 'checkpoints')).filter((d) => d.startsWith('best-'));
    assert.equal(best.length, 1);
    assert.equal(a!.checkpoint, path.join(runDir, 'checkpoints', best[0]!));
    assert.match(a!.note, /^best checkpoint best-epoch=\d-val_miou=/);
    assert.equal(a!.name, 'segformer-custom'); // tinyConfig's hidden sizes are no B variant's
    assert.deepEqual(
      { model: a!.training!.model, recipe: a!.training!.recipe, epochs: [a!.training!.epochsDone, a!.training!.epochsPlanned], steps: a!.training!.stepsDone, size: [a!.training!.height, a!.training!.width] },
      { model: 'segformer-b0', recipe: null, epochs: [2, 2], steps: 4, size: [64, 96] }, // 8 train images, batch 4
    );
    assert.equal(b!.kind, 'checkpoint');
    assert.equal(b!.name, 'mobilenet_v2-0.35');
    assert.equal(b!.training, null);
  });

  it("mIoU, mAcc and aAcc are exactly streetseg eval's for the same checkpoint", () => {
    for (const m of result.models) {
      const e = run(['eval', '--checkpoint', m.checkpoint, '--data', data, '--json', '--workers', '0', '--out', path.join(out, '..', `eval-${m.name}`)]);
      assert.equal(e.status, 0, e.stderr);
      const ev = lastJson(e.stdout);
      assert.deepEqual([m.meanIou, m.meanAccuracy, m.overallAccuracy, m.numImages], [ev.meanIou, ev.meanAccuracy, ev.overallAccuracy, ev.numImages], m.name);
      assert.ok((m.meanIou as number) > 0 && (m.meanIou as number) <= 1);
    }
  });

  it('--sequence adds flicker and consistency columns, exactly eval --sequence\'s', () => {
    const r = run(['compare', runDir, '--data', data, '--sequence', '--markdown', '--height', '64', '--width', '96', '--iters', '1', '--warmup', '0', '--workers', '0']);
    assert.equal(r.status, 0, r.stderr);
    const row = (lastJson(r.stdout) as unknown as CompareResult).models[0]!;
    const e = run(['eval', '--checkpoint', row.checkpoint, '--data', data, '--sequence', '--json', '--workers', '0', '--out', path.join(out, '..', 'eval-seq')]);
    assert.equal(e.status, 0, e.stderr);
    const t = lastJson(e.stdout).temporal as { flicker: number; consistency: number; pairs: number };
    assert.deepEqual(row.temporal, { flicker: t.flicker, consistency: t.consistency, pairs: t.pairs });
    assert.equal(t.pairs, 9, 'the 10 synthetic frames are one sequence');
    const head = r.stdout.split('\n').find((l) => l.startsWith('| model'))!;
    assert.match(head, /\| aAcc % \| flicker % \| consistency % \| params \(M\) \|/);
    const cells = r.stdout.split('\n').find((l) => l.startsWith(`| ${row.name}`))!.split('|').map((c) => c.trim());
    assert.deepEqual(cells.slice(6, 8), [(100 * t.flicker).toFixed(2), (100 * t.consistency).toFixed(2)]);
    assert.ok(!stdout.includes('flicker'), 'without --sequence there is no temporal column');
  });

  it('params are the parameters\' numel sum, MB the weights file\'s size, FPS = 1000/latency', () => {
    for (const m of result.models) {
      const { model } = loadPretrained(m.checkpoint, { log: () => undefined });
      const numel = model.parameters().reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
      model.dispose();
      assert.equal(m.params, numel, m.name);
      const bytes = fs.statSync(path.join(m.checkpoint, 'model.safetensors')).size;
      assert.equal(m.sizeBytes, bytes);
      assert.equal(m.sizeMB, bytes / 1e6);
      assert.deepEqual(m.runtimes.map((x) => x.runtime), ['torch']);
      const t = m.runtimes[0]!;
      assert.ok(t.latencyMs > 0 && Number.isFinite(t.latencyMs));
      assert.equal(t.fps, 1000 / t.latencyMs);
      assert.equal(t.timesMs.length, 3);
      assert.equal(t.latencyMs, [...t.timesMs].sort((x, y) => x - y)[1]); // the median of 3
      assert.ok(Number.isInteger(t.peakRssMiB) && t.peakRssMiB > 50, `peak RSS ${t.peakRssMiB} MiB`);
      assert.equal(t.fileBytes, bytes);
    }
    assert.deepEqual([result.height, result.width, result.batch, result.iters, result.warmup], [64, 96, 1, 3, 1]);
  });

  it("a child's peak RSS is its own, not its parent's (no getrusage carry-over across fork + exec)", async () => {
    const ballast = Buffer.alloc(500e6, 1); // touched pages: this process's RSS is now > 500 MB
    const c = await measureInChild({ runtime: 'torch', checkpoint: mnv2, modelFile: path.join(mnv2, 'model.safetensors'), height: 32, width: 32, iters: 1, warmup: 0, threads: 1, seed: 0 });
    assert.ok(peakRssMiB() > 480 && ballast[ballast.length - 1] === 1);
    assert.ok(c.peakRssMiB > 50 && c.peakRssMiB < 450, `child peak ${c.peakRssMiB} MiB`);
    // The child imports only its runtime's engine: the runtime table itself maps neither libtorch nor onnxruntime.
    const mod = path.join(repoRoot, 'dist', 'src', 'compare', 'runtimes.js');
    const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(mod)}); const m = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8'); console.log(JSON.stringify([m.includes('libtorch'), m.includes('onnxruntime')]))`], { encoding: 'utf8' });
    assert.equal(probe.stdout.trim(), '[false,false]', probe.stderr);
  });

  it('writes compare.json, compare.md (one row per model), a chart PNG of the stated size and index.html', async () => {
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'compare.json'), 'utf8')), result);
    const md = fs.readFileSync(path.join(out, 'compare.md'), 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    assert.equal(rows.length, 3); // header + 2 models
    assert.match(rows[0]!, /^\| model \| trained \| mIoU % \| mAcc % \| aAcc % \| params \(M\) \| MB \| torch ms \| torch FPS \| torch peak MiB \|$/);
    const cells = rows[2]!.split('|').map((c) => c.trim());
    const b = result.models[1]!;
    assert.deepEqual(cells.slice(1, 8), [b.name, 'checkpoint (no run)', (100 * b.meanIou).toFixed(2), (100 * b.meanAccuracy).toFixed(2), (100 * b.overallAccuracy).toFixed(2), (b.params / 1e6).toFixed(3), b.sizeMB.toFixed(2)]);
    assert.match(rows[1]!, /custom recipe, 2\/2 epochs \(4 steps\), 64×96, batch 4/);
    const meta = await sharp(path.join(out, 'compare.png')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', CHART_SIZE.width, CHART_SIZE.height]);
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.match(html, /<img src="compare.png"/);
    assert.equal((html.match(/<tr>/g) ?? []).length, 3);
    // The terminal table has the same rows; the JSON comes last.
    assert.match(stdout, new RegExp(`^segformer-custom +custom recipe`, 'm'));
  });

  it("links the comparison from the run's report, and a rewrite of the report keeps the link", async () => {
    const reportDir = path.join(runDir, 'report');
    const href = path.relative(reportDir, path.join(out, 'index.html'));
    assert.deepEqual(readReportLinks(reportDir).map((l) => l.href), [href]);
    const page = fs.readFileSync(path.join(reportDir, 'index.html'), 'utf8');
    const link = `<a href="${href}">Model comparison (segformer-custom, mobilenet_v2-0.35)</a>`;
    assert.equal(page.split(link).length, 2, 'the training report links the comparison once');
    await writeReport(reportDir, { title: 'rewritten', config: {}, history: [], samples: [], worst: [], palette: [], ignoreIndex: 255, timing: {} });
    assert.equal(fs.readFileSync(path.join(reportDir, 'index.html'), 'utf8').split(link).length, 2, 'still linked after a rewrite');
  });

  it('addReportLink replaces a link with the same href and patches a page from before links existed', () => {
    const dir = tmpRun('links');
    fs.writeFileSync(path.join(dir, 'index.html'), '<html><body><h1>t</h1><section id="summary">x</section></body></html>');
    addReportLink(dir, { href: 'a/index.html', text: 'first' });
    addReportLink(dir, { href: 'b.html', text: 'B & co' });
    addReportLink(dir, { href: 'a/index.html', text: 'second' });
    assert.deepEqual(readReportLinks(dir), [{ href: 'b.html', text: 'B & co' }, { href: 'a/index.html', text: 'second' }]);
    assert.equal(
      fs.readFileSync(path.join(dir, 'index.html'), 'utf8'),
      '<html><body><h1>t</h1><!--links--><section id="links"><h2>See also</h2><ul><li><a href="b.html">B &amp; co</a></li><li><a href="a/index.html">second</a></li></ul></section><!--/links-->\n<section id="summary">x</section></body></html>',
    );
    fs.writeFileSync(path.join(dir, 'links.json'), '{"href": 1}');
    assert.throws(() => readReportLinks(dir), /links\.json: expected an array of/);
  });

  it('names variants by their architecture fields and finds the recipe a run used', () => {
    const labels = ['a', 'b'];
    for (const [name, want] of [['segformer-b2', 'segformer-b2'], ['mobilevit-xxs', 'mobilevit-xxs'], ['mobilevit-s', 'mobilevit-s'], ['mobilenet-v2', 'mobilenet-v2'], ['b0', 'segformer-b0']] as const) {
      const fam = name.startsWith('mobilevit') ? 'mobilevit' : name.startsWith('mobilenet') ? 'mobilenet_v2' : 'segformer';
      const f = getFamily(fam);
      const variant = { 'segformer-b2': 'b2', 'mobilevit-xxs': 'xx-small', 'mobilevit-s': 'small', 'mobilenet-v2': '1.0', b0: 'b0' }[name];
      const cfg = f.variantConfig(variant, labels, { classifier_dropout_prob: 0.3 }); // dropout does not change the variant
      assert.equal(variantName(cfg.model_type, identifyVariant(cfg)), want);
    }
    assert.equal(identifyVariant(getFamily('segformer').variantConfig('b0', labels, { depths: [1, 1, 1, 1] })), null);
    const recipe = { ...presetConfig('camvid-scratch'), model: 'segformer-b1', epochs: 3, data: '/elsewhere' };
    assert.equal(matchRecipe(recipe), 'camvid-scratch');
    assert.equal(matchRecipe({ ...recipe, lr: 1e-3 }), null);
  });

  it('times the ONNX export and its int8 version (a smaller file) beside torch, with the same metrics', () => {
    const r = run(['compare', runDir, '--data', data, '--runtimes', 'torch,onnx,onnx-int8', '--height', '64', '--width', '96', '--iters', '3', '--warmup', '1', '--workers', '0', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const m = (lastJson(r.stdout) as unknown as CompareResult).models[0]!;
    assert.deepEqual([m.meanIou, m.meanAccuracy, m.params, m.sizeBytes], [result.models[0]!.meanIou, result.models[0]!.meanAccuracy, result.models[0]!.params, result.models[0]!.sizeBytes]);
    assert.deepEqual(m.runtimes.map((x) => [x.runtime, x.file]), [['torch', path.join(m.checkpoint, 'model.safetensors')], ['onnx', 'onnx.onnx'], ['onnx-int8', 'onnx-int8.onnx']]);
    for (const x of m.runtimes) {
      assert.ok(x.latencyMs > 0 && x.fps === 1000 / x.latencyMs && x.peakRssMiB > 20, JSON.stringify(x));
      assert.equal(x.fileMB, x.fileBytes / 1e6);
    }
    const [, fp32, int8] = m.runtimes;
    assert.ok(int8!.fileBytes < fp32!.fileBytes, `int8 ${int8!.fileBytes} B vs fp32 ${fp32!.fileBytes} B`);
  });

  it('scores and times a run as it evaluated itself (its eval scales), like eval --scales', () => {
    // The same trained run, its config saying it was evaluated at half size (camvid-best does this).
    const half = tmpRun('cmp-half');
    fs.cpSync(runDir, half, { recursive: true });
    const cfgFile = path.join(half, 'config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), evalScales: [0.5] }));
    const r = run(['compare', half, '--data', data, '--height', '64', '--width', '96', '--iters', '3', '--warmup', '1', '--workers', '0']);
    assert.equal(r.status, 0, r.stderr);
    const res = lastJson(r.stdout) as unknown as CompareResult;
    const m = res.models[0]!;
    const e = run(['eval', '--checkpoint', m.checkpoint, '--data', data, '--scales', '0.5', '--json', '--workers', '0', '--out', path.join(half, 'eval-half')]);
    assert.equal(e.status, 0, e.stderr);
    const ev = lastJson(e.stdout);
    assert.deepEqual([m.meanIou, m.meanAccuracy, m.overallAccuracy], [ev.meanIou, ev.meanAccuracy, ev.overallAccuracy]);
    assert.notEqual(m.meanIou, result.models[0]!.meanIou, 'half-size inference scores differently from full size');
    assert.deepEqual([m.latencyHeight, m.latencyWidth, result.models[0]!.latencyHeight, result.models[0]!.latencyWidth], [32, 48, 64, 96]);
    assert.match(r.stdout, /evaluated at scale 0\.5/);
    // eval without --scales: the run's evalScales (its checkpoints predate the config key) ...
    const byRun = run(['eval', '--checkpoint', m.checkpoint, '--data', data, '--json', '--workers', '0', '--out', path.join(half, 'eval-default')]);
    assert.equal(byRun.status, 0, byRun.stderr);
    assert.deepEqual([lastJson(byRun.stdout).meanIou, lastJson(byRun.stdout).scales], [ev.meanIou, [0.5]]);
    // ... and a checkpoint copied out of its run carries them in config.json (what training now writes)
    const lone = path.join(tmpRun('cmp-lone'), 'ckpt');
    fs.cpSync(m.checkpoint, lone, { recursive: true });
    const lc = path.join(lone, 'config.json');
    fs.writeFileSync(lc, JSON.stringify({ ...JSON.parse(fs.readFileSync(lc, 'utf8')), streetseg_eval_scales: [0.5] }));
    const byKey = run(['eval', '--checkpoint', lone, '--data', data, '--json', '--workers', '0', '--class-weights', 'none', '--out', path.join(half, 'eval-lone')]);
    assert.equal(byKey.status, 0, byKey.stderr);
    assert.deepEqual([lastJson(byKey.stdout).meanIou, lastJson(byKey.stdout).scales], [ev.meanIou, [0.5]]);
    assert.match(r.stdout, /at 64×96 \(segformer-custom at 32×48, its inference size\)/);
  });

  it('has an ONNX runtime for every family, and refuses an unknown runtime and a non-model folder before any work', async () => {
    // Every registered family exports (so compare's onnx runtimes cover them all); a family without an
    // emitter would be refused by name before the first evaluation.
    const { onnxEmitter } = await import('../src/export/families.js');
    for (const t of ['segformer', 'mobilevit', 'mobilenet_v2']) assert.equal(typeof onnxEmitter(t), 'function', t);
    assert.throws(() => onnxEmitter('resnet'), /resnet/);
    const bad = run(['compare', mnv2, '--data', data, '--runtimes', 'tensorrt']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown runtime 'tensorrt': expected one or more of torch, onnx, onnx-int8/);
    const three = path.join(tmpRun('cmp-3'), 'ckpt');
    const m = createModel('mobilenet-v2', ['a', 'b', 'c'], { depth_multiplier: 0.35 });
    savePretrained(m, three);
    m.dispose();
    const labels = run(['compare', three, '--data', data, '--iters', '1']);
    assert.equal(labels.status, 2);
    assert.match(labels.stderr, new RegExp(`^streetseg compare: ${three} predicts 3 classes \\(a, b, c\\) but ${data} has 11 \\(Sky, .*\\); try --void class$`, 'm'));
    assert.throws(() => resolveInput(data), /: no config\.json \(expected a training run directory or an HF checkpoint directory\)/);
    assert.throws(() => resolveInput(path.join(data, 'nope')), /nope: not a directory/);
  });
});
