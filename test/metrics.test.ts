// Segmentation metrics: a K=3 example worked by hand, the NaN rules, ignore pixels, bad labels, the
// tensor path against the array path, shard merging, JSON/CSV output, and HF evaluate's algorithm
// (restated in numpy by test/helpers/hf_mean_iou.py) on seeded random data.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfusionMatrix } from '../src/metrics/confusion.js';
import { computeMetrics, imageMiou, metricsJson, writeConfusionCsv } from '../src/metrics/miou.js';
import { fromArray, memoryStats, tensor } from '../src/torch/index.js';
import { repoRoot } from '../src/util/paths.js';
import { runPythonJson } from '../src/util/python.js';
import { rng } from '../src/util/random.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-metrics-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const close = (a: number, b: number, what: string, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const closeArr = (a: number[], b: number[], what: string): void => {
  assert.equal(a.length, b.length, `${what}: length`);
  a.forEach((x, i) => (Number.isNaN(b[i]!) ? assert.ok(Number.isNaN(x), `${what}[${i}]: ${x} should be NaN`) : close(x, b[i]!, `${what}[${i}]`)));
};

// A 3×4 image, K=3, one ignored pixel (255). Pairs (truth, pred), row by row:
//   (0,0) (0,1) (1,1) (1,1) | (2,2) (2,0) (0,0) (1,2) | ignored (2,2) (1,1) (0,0)
// Confusion (rows truth, cols pred):  [3 1 0]   row sums 4 4 3, column sums 4 4 3, TP 3 3 2, 11 pixels.
//                                     [0 3 1]
//                                     [1 0 2]
// IoU = TP / (row + col - TP): 3/5, 3/5, 2/4 → mean 1.7/3.  Acc = TP / row: 3/4, 3/4, 2/3.  Overall 8/11.
const TARGET = [0, 0, 1, 1, 2, 2, 0, 1, 255, 2, 1, 0];
const PRED = [0, 1, 1, 1, 2, 0, 0, 2, 1, 2, 1, 0];
const HAND_MATRIX = [3, 1, 0, 0, 3, 1, 1, 0, 2];

describe('ConfusionMatrix', () => {
  it('counts the hand example (arrays), skipping the ignored pixel', () => {
    const cm = new ConfusionMatrix(3);
    cm.update(Uint8Array.from(PRED), Uint8Array.from(TARGET));
    assert.deepEqual(Array.from(cm.matrix), HAND_MATRIX);
  });

  it('counts the hand example (int64 tensors of shape N,H,W)', () => {
    const cm = new ConfusionMatrix(3);
    const p = tensor(PRED, [1, 3, 4], { dtype: 'int64' });
    const t = tensor(TARGET, [1, 3, 4], { dtype: 'int64' });
    cm.update(p, t);
    assert.deepEqual(Array.from(cm.matrix), HAND_MATRIX);
    // uint8 label tensors (as decoded masks are) take the same path after a cast.
    cm.update(fromArray(Uint8Array.from(PRED), [3, 4]), fromArray(Uint8Array.from(TARGET), [3, 4]));
    assert.deepEqual(Array.from(cm.matrix), HAND_MATRIX.map((v) => 2 * v));
    p.dispose();
    t.dispose();
  });

  it('honours another ignore index, including one inside [0, K)', () => {
    const cm = new ConfusionMatrix(3, 0); // class 0 ignored: pairs with truth 0 vanish
    cm.update(Int32Array.from(PRED.map((v) => (v === 255 ? 0 : v))), Int32Array.from(TARGET.map((v) => (v === 255 ? 1 : v))));
    // rows 1 and 2 of the hand matrix, plus the formerly ignored pixel now (truth 1, pred 1)
    assert.deepEqual(Array.from(cm.matrix), [0, 0, 0, 0, 4, 1, 1, 0, 2]);
    const ct = new ConfusionMatrix(3, -1);
    ct.update(tensor([2, 0, 1], [3], { dtype: 'int64' }), tensor([-1, 0, -1], [3], { dtype: 'int64' }));
    assert.deepEqual(Array.from(ct.matrix), [1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects a target outside [0, K) naming the value, on both paths, leaving the matrix unchanged', () => {
    const cm = new ConfusionMatrix(3);
    assert.throws(() => cm.update([0, 1, 2], [0, 7, 2]), /target value 7 at index 1 is outside \[0, 3\)/);
    assert.throws(() => cm.update(BigInt64Array.from([0n, 1n]), BigInt64Array.from([-2n, 1n])), /target value -2 at index 0/);
    assert.throws(
      () => cm.update(tensor([0, 1, 2], [3], { dtype: 'int64' }), tensor([0, 5, 255], [3], { dtype: 'int64' })),
      /target value 5 is outside \[0, 3\) and is not the ignore index 255/,
    );
    assert.throws(() => cm.update(tensor([0, 3, 2], [3], { dtype: 'int64' }), tensor([0, 1, 2], [3], { dtype: 'int64' })), /predicted class 3 is outside \[0, 3\)/);
    assert.throws(() => cm.update([0, 1.5], [0, 1]), /predicted class 1.5 at index 1/);
    assert.deepEqual(Array.from(cm.matrix), new Array(9).fill(0));
  });

  it('rejects mismatched inputs clearly', () => {
    const cm = new ConfusionMatrix(3);
    assert.throws(() => cm.update([0, 1], [0]), /pred has 2 pixels, target 1/);
    assert.throws(() => cm.update(tensor([0, 1], [2], { dtype: 'int64' }), tensor([0, 1], [1, 2], { dtype: 'int64' })), /pred shape \[2\] differs from target shape \[1,2\]/);
    assert.throws(() => cm.update(tensor([0, 1], [2]), tensor([0, 1], [2], { dtype: 'int64' })), /pred must be an integer tensor \(class ids\), got float32/);
    assert.throws(() => cm.update(tensor([0], [1], { dtype: 'int64' }), [0]), /both be tensors or both be arrays/);
    assert.throws(() => new ConfusionMatrix(0), /numClasses must be a positive integer, got 0/);
  });

  it('tensor path equals array path on seeded random data, and frees its temporaries', () => {
    const r = rng(1234);
    const K = 11;
    const n = 4 * 37 * 53;
    const pred = new Int32Array(n);
    const target = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      pred[i] = r.int(K);
      target[i] = r.next() < 0.1 ? 255 : r.int(K);
    }
    const a = new ConfusionMatrix(K);
    a.update(pred, target);
    const pt = fromArray(BigInt64Array.from(pred, (v) => BigInt(v)), [4, 37, 53]);
    const tt = fromArray(BigInt64Array.from(target, (v) => BigInt(v)), [4, 37, 53]);
    const live = memoryStats().liveTensors;
    const b = new ConfusionMatrix(K);
    b.update(pt, tt);
    assert.equal(memoryStats().liveTensors, live);
    assert.deepEqual(Array.from(b.matrix), Array.from(a.matrix));
    const ignored = target.filter((v) => v === 255).length;
    assert.equal(computeMetrics(a).numPixels, n - ignored);
    assert.ok(ignored > 0 && ignored < n);
    pt.dispose();
    tt.dispose();
  });

  it('add() of shards equals one update over everything; JSON round-trips', () => {
    const r = rng(99);
    const K = 5;
    const whole = new ConfusionMatrix(K);
    const merged = new ConfusionMatrix(K);
    const allP: number[] = [];
    const allT: number[] = [];
    for (let s = 0; s < 4; s++) {
      const p = Array.from({ length: 300 }, () => r.int(K));
      const t = Array.from({ length: 300 }, () => (r.next() < 0.05 ? 255 : r.int(K)));
      const shard = new ConfusionMatrix(K);
      shard.update(p, t);
      merged.add(ConfusionMatrix.fromJSON(JSON.parse(JSON.stringify(shard))));
      allP.push(...p);
      allT.push(...t);
    }
    whole.update(allP, allT);
    assert.deepEqual(Array.from(merged.matrix), Array.from(whole.matrix));
    assert.throws(() => merged.add(new ConfusionMatrix(4)), /cannot merge a 4-class matrix/);
    assert.throws(() => ConfusionMatrix.fromJSON({ numClasses: 2, ignoreIndex: 255, matrix: [1, 2, 3] }), /matrix must be an array of 4 counts/);
    assert.throws(() => ConfusionMatrix.fromJSON({ numClasses: 2, ignoreIndex: 255, matrix: [1, 2, -3, 4] }), /matrix\[2\] must be a non-negative integer count, got -3/);
    merged.reset();
    assert.deepEqual(Array.from(merged.matrix), new Array(K * K).fill(0));
  });
});

describe('computeMetrics', () => {
  it('matches the hand-computed K=3 example', () => {
    const cm = new ConfusionMatrix(3);
    cm.update(PRED, TARGET);
    const m = computeMetrics(cm);
    closeArr(m.perClassIou, [3 / 5, 3 / 5, 2 / 4], 'perClassIou');
    closeArr(m.perClassAccuracy, [3 / 4, 3 / 4, 2 / 3], 'perClassAccuracy');
    close(m.meanIou, (0.6 + 0.6 + 0.5) / 3, 'meanIou');
    close(m.meanAccuracy, (0.75 + 0.75 + 2 / 3) / 3, 'meanAccuracy');
    close(m.overallAccuracy, 8 / 11, 'overallAccuracy');
    assert.equal(m.numPixels, 11);
    // The same from the bare matrix.
    assert.deepEqual(computeMetrics(Float64Array.from(HAND_MATRIX)), m);
    assert.throws(() => computeMetrics(new Float64Array(8)), /8 entries is not square/);
    assert.throws(() => computeMetrics(new Float64Array(9), 2), /9 entries is not 2×2/);
  });

  it('NaN for classes absent from truth and prediction, left out of the means', () => {
    // K=4. Class 2 appears only as a (wrong) prediction: IoU 0, accuracy NaN. Class 3 appears nowhere: both NaN.
    //   truth 0: pred 0,0,2   truth 1: pred 1,1,0
    // Matrix rows: [2 0 1 0] [1 2 0 0] [0 0 0 0] [0 0 0 0]; row sums 3 3 0 0; col sums 3 2 1 0.
    // IoU0 = 2/(3+3-2) = 1/2, IoU1 = 2/(3+2-2) = 2/3, IoU2 = 0/1 = 0, IoU3 = NaN → mean (1/2+2/3+0)/3.
    // Acc0 = 2/3, Acc1 = 2/3, Acc2 = Acc3 = NaN → mean 2/3.
    const m = computeMetrics(Float64Array.from([2, 0, 1, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    closeArr(m.perClassIou, [1 / 2, 2 / 3, 0, NaN], 'perClassIou');
    closeArr(m.perClassAccuracy, [2 / 3, 2 / 3, NaN, NaN], 'perClassAccuracy');
    close(m.meanIou, (1 / 2 + 2 / 3) / 3, 'meanIou');
    close(m.meanAccuracy, 2 / 3, 'meanAccuracy');
    close(m.overallAccuracy, 4 / 6, 'overallAccuracy');
    const json = metricsJson(m, ['road', 'car', 'sky', 'bike']);
    assert.deepEqual(json, {
      meanIou: m.meanIou,
      meanAccuracy: m.meanAccuracy,
      overallAccuracy: m.overallAccuracy,
      perClassIou: { road: 1 / 2, car: 2 / 3, sky: 0, bike: null },
      perClassAccuracy: { road: 2 / 3, car: 2 / 3, sky: null, bike: null },
    });
    // JSON.stringify would turn NaN into null anyway; the point is that the object itself holds null.
    assert.equal(JSON.parse(JSON.stringify(json)).perClassIou.bike, null);
    assert.throws(() => metricsJson(m, ['a', 'b', 'c']), /3 class names given for 4 classes/);
    assert.throws(() => metricsJson(m, ['a', 'b', 'a', 'c']), /class name "a" appears twice/);
  });

  it('an all-ignored evaluation is NaN throughout, not 0', () => {
    const cm = new ConfusionMatrix(2);
    cm.update([0, 1], [255, 255]);
    const m = computeMetrics(cm);
    assert.ok(Number.isNaN(m.meanIou) && Number.isNaN(m.meanAccuracy) && Number.isNaN(m.overallAccuracy));
    assert.equal(m.numPixels, 0);
    assert.deepEqual(metricsJson(m, ['a', 'b']).meanIou, null);
  });

  it('imageMiou: nanmean over classes present in truth or prediction', () => {
    // truth [0,0,1,255], pred [0,1,1,2]: class 0 IoU 1/2, class 1 IoU 1/2, class 2 only predicted at the
    // ignored pixel (so absent), class 3 absent: mIoU = 1/2.
    close(imageMiou([0, 1, 1, 2], [0, 0, 1, 255], 4, 255), 1 / 2, 'imageMiou');
    close(imageMiou(tensor([0, 1, 1, 2], [1, 2, 2], { dtype: 'int64' }), tensor([0, 0, 1, 255], [1, 2, 2], { dtype: 'int64' }), 4, 255), 1 / 2, 'imageMiou tensor');
    // A perfect prediction of one class is 1, not diluted by the absent classes.
    assert.equal(imageMiou([3, 3, 3], [3, 3, 3], 19), 1);
  });

  it('agrees with HF evaluate mean_iou (numpy restatement) on seeded random images', () => {
    const r = rng(7);
    const K = 6;
    const images: { pred: number[]; label: number[] }[] = [];
    const cm = new ConfusionMatrix(K);
    for (let i = 0; i < 5; i++) {
      // Class 5 never occurs (NaN), class 4 only in predictions of image 0 (IoU 0, accuracy NaN).
      const label = Array.from({ length: 400 }, () => (r.next() < 0.08 ? 255 : r.int(4)));
      const pred = label.map((t) => (r.next() < 0.6 && t !== 255 ? t : r.int(4)));
      if (i === 0) {
        label[3] = 0;
        pred[3] = 4;
      }
      images.push({ pred, label });
      cm.update(pred, label);
    }
    const input = path.join(tmp, 'hf-input.json');
    fs.writeFileSync(input, JSON.stringify({ num_labels: K, ignore_index: 255, images }));
    const ref = runPythonJson(path.join(repoRoot, 'test', 'helpers', 'hf_mean_iou.py'), [input]);
    assert.equal(ref.error, undefined, String(ref.error));
    const ours = metricsJson(computeMetrics(cm), ['a', 'b', 'c', 'd', 'e', 'f']);
    for (const key of ['meanIou', 'meanAccuracy', 'overallAccuracy'] as const) close(ours[key] as number, ref[key] as number, key, 1e-12);
    const refIou = ref.perClassIou as (number | null)[];
    const refAcc = ref.perClassAccuracy as (number | null)[];
    assert.deepEqual(refIou.slice(4), [0, null]);
    assert.deepEqual(refAcc.slice(4), [null, null]);
    const oIou = Object.values(ours.perClassIou as Record<string, number | null>);
    const oAcc = Object.values(ours.perClassAccuracy as Record<string, number | null>);
    oIou.forEach((v, i) => (refIou[i] === null ? assert.equal(v, null) : close(v!, refIou[i]!, `iou[${i}]`)));
    oAcc.forEach((v, i) => (refAcc[i] === null ? assert.equal(v, null) : close(v!, refAcc[i]!, `acc[${i}]`)));
  });
});

describe('writeConfusionCsv', () => {
  it('writes the header and one row per truth class, quoting names that need it', () => {
    const cm = new ConfusionMatrix(3);
    cm.update(PRED, TARGET);
    const file = path.join(tmp, 'eval', 'confusion.csv');
    writeConfusionCsv(file, cm, ['road', 'car, parked', 'say "hi"']);
    assert.equal(
      fs.readFileSync(file, 'utf8'),
      'truth\\pred,road,"car, parked","say ""hi"""\n' + 'road,3,1,0\n' + '"car, parked",0,3,1\n' + '"say ""hi""",1,0,2\n',
    );
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['confusion.csv']); // no temp file left
    assert.throws(() => writeConfusionCsv(file, cm, ['a', 'b']), /writeConfusionCsv\(.*confusion\.csv\): 2 class names given for 3 classes/);
  });
});
