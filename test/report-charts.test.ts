// Chart builders and picture helpers of the report, checked against hand-computed geometry and colours.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { colorizeLabel } from '../src/data/palette.js';
import { BAR_LAYOUT, HEAT_NAN, LINE_MARGIN, barChartSvg, heatColor, heatmapSvg, lineChartSvg, niceTicks, rowNormalize } from '../src/report/charts.js';
import { cellNumber, historyAxis, historyCharts, historySeries } from '../src/report/curves.js';
import { formatNumber, formatPercent } from '../src/report/format.js';
import { configJson, formatDuration } from '../src/report/html.js';
import { ERROR_COLORS, MASK_IGNORE, errorMap, sampleStrip } from '../src/report/images.js';
import type { RGB } from '../src/report/types.js';

/** Attribute maps of every <tag ...> element in an SVG string. */
function elements(svg: string, tag: string): Array<Record<string, string>> {
  return [...svg.matchAll(new RegExp(`<${tag} ([^>]*?)/?>`, 'g'))].map((m) => Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])));
}

describe('bar chart', () => {
  it('bar heights are proportional to the value over the axis maximum; NaN draws "n/a"', () => {
    const svg = barChartSvg({
      labels: ['a', 'b', 'c'],
      colors: [[10, 20, 30], [40, 50, 60], [70, 80, 90]],
      panels: [{ title: 'IoU', values: [25, 100, NaN], max: 100 }],
      plotHeight: 180,
    });
    const bars = elements(svg, 'rect').filter((r) => r.fill?.startsWith('rgb('));
    assert.equal(bars.length, 2);
    // Untitled, panel 0: plot top at BAR_LAYOUT.top + 20; baseline 180 + headroom below it.
    const base = BAR_LAYOUT.top + 20 + 180 + BAR_LAYOUT.headroom;
    assert.equal(bars[0]!.fill, 'rgb(10,20,30)');
    assert.equal(Number(bars[0]!.height), 45);
    assert.equal(Number(bars[0]!.y), base - 45);
    assert.equal(bars[1]!.fill, 'rgb(40,50,60)');
    assert.equal(Number(bars[1]!.height), 180);
    assert.equal(Number(bars[1]!.x) - Number(bars[0]!.x), 44 + BAR_LAYOUT.gap);
    assert.match(svg, />n\/a</);
    assert.doesNotMatch(svg, /NaN/);
  });

  it('default axis maximum is the largest value; panels stack; names are escaped', () => {
    const svg = barChartSvg({ labels: ['x<y', 'z'], colors: [[1, 2, 3]], panels: [{ title: 'p', values: [2, 8] }, { title: 'q', values: [1, 1] }], plotHeight: 100 });
    const bars = elements(svg, 'rect').filter((r) => r.fill?.startsWith('rgb('));
    assert.deepEqual(bars.map((b) => Number(b.height)), [25, 100, 100, 100]);
    assert.equal(bars[1]!.fill, 'rgb(128,128,128)', 'a missing colour is grey');
    assert.match(svg, /x&lt;y/);
    assert.throws(() => barChartSvg({ labels: ['a'], colors: [], panels: [{ title: 'bad', values: [1, 2] }] }), /panel "bad": 2 values for 1 labels/);
  });
});

describe('line chart', () => {
  it('maps data to the plot area exactly', () => {
    const svg = lineChartSvg({ series: [{ name: 's', color: 'red', points: [[0, 0], [1, 0.5], [2, 1]] }], width: 480, height: 280, yMin: 0, yMax: 1 });
    const plotW = 480 - LINE_MARGIN.left - LINE_MARGIN.right; // 400
    const plotH = 280 - LINE_MARGIN.top - LINE_MARGIN.bottom; // 182
    const expected = [[0, 0], [1, 0.5], [2, 1]].map(([x, y]) => `${LINE_MARGIN.left + (x! / 2) * plotW},${LINE_MARGIN.top + plotH - y! * plotH}`);
    assert.deepEqual(expected, ['62,216', '262,125', '462,34']);
    const lines = elements(svg, 'polyline');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.points, expected.join(' '));
    assert.equal(elements(svg, 'circle').length, 3);
  });

  it('a non-finite value breaks the line; a free y axis snaps to round ticks', () => {
    const svg = lineChartSvg({ series: [{ name: 'loss', color: 'blue', points: [[0, 0.2], [1, NaN], [2, 0.9], [3, 0.9]] }], width: 480, height: 280 });
    const lines = elements(svg, 'polyline');
    assert.equal(lines.length, 1, 'the lone first point is a marker, not a line');
    // y axis [0.2, 0.9] → ticks 0.2..1 step 0.2 (raw step 0.175 → 0.2); x axis [0, 3].
    // x = 2 → 62 + (2/3)·400 = 328.67 (rounded to 2 decimals); y = 0.9 → 34 + 182 − (0.7/0.8)·182 = 56.75
    assert.equal(lines[0]!.points, '328.67,56.75 462,56.75');
    assert.equal(elements(svg, 'circle').length, 3);
    assert.match(svg, />loss</);
  });

  it('a legend wider than the chart wraps to a second row, and the plot gives up that row', () => {
    const names = ['segformer-b0 (1)', 'segformer-b0 (2)', 'segformer-b1', 'mobilevit-xxs', 'mobilevit-s'];
    const svg = lineChartSvg({ series: names.map((name, i) => ({ name, color: 'red', points: [[i, 0], [i + 1, 1]] })), width: 480, height: 280, yMin: 0, yMax: 1 });
    // Entry widths 22 + 7·len + 16 = 150, 150, 122, 129, 115 from x = 62: the third would end at
    // 362 + 122 − 16 = 468 > 480 − 18, so it starts row 2 at 62; the 4th and 5th follow it (184, 313).
    const texts = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" font-size="11">([^<]*)<\/text>/g)].map((m) => ({ x: +m[1]!, y: +m[2]!, name: m[3]! }));
    assert.deepEqual(texts.map((t) => t.name), names);
    assert.deepEqual(texts.map((t) => t.y), [252, 252, 268, 268, 268]);
    assert.deepEqual(texts.map((t) => t.x), [84, 234, 84, 206, 335]);
    // plot frame: height 280 − 34 (top) − (64 + 16) (bottom with one extra legend row) = 166
    const frame = elements(svg, 'rect').find((r) => r.fill === 'none')!;
    assert.equal(+frame.height!, 166);
  });

  it('a fixed x domain places points inside it', () => {
    const svg = lineChartSvg({ series: [{ name: 's', color: 'red', points: [[1, 0], [3, 1]] }], xDomain: [0, 4], yMin: 0, yMax: 1 });
    assert.equal(elements(svg, 'polyline')[0]!.points, '162,216 362,34');
  });

  it('renders "no data yet" without series values', () => {
    const svg = lineChartSvg({ series: [{ name: 'x', color: 'red', points: [[1, NaN]] }] });
    assert.match(svg, /no data yet/);
    assert.equal(elements(svg, 'polyline').length, 0);
  });

  it('niceTicks uses 1/2/5 steps and whole steps for integer axes', () => {
    assert.deepEqual(niceTicks(0, 0.93, 4), [0, 0.5, 1]);
    assert.deepEqual(niceTicks(0.2, 0.9, 4), [0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(1, 10, 5, true), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(1, 3, 5, true), [1, 2, 3]);
    assert.throws(() => niceTicks(1, 1), /empty range/);
  });
});

describe('heat map', () => {
  it('colours cells by row share, absent rows grey', () => {
    assert.deepEqual(heatColor(0), [255, 255, 255]);
    assert.deepEqual(heatColor(1), [8, 48, 107]);
    // 255 + (8-255)*0.75 = 69.75, 255 + (48-255)*0.75 = 99.75, 255 + (107-255)*0.75 = 144
    assert.deepEqual(heatColor(0.75), [70, 100, 144]);
    assert.deepEqual(heatColor(0.25), [193, 203, 218]);
    assert.deepEqual(rowNormalize([3, 1, 0, 0], 2, 2), [0.75, 0.25, NaN, NaN]);
    const svg = heatmapSvg({ values: [3, 1, 0, 0], rowLabels: ['road', 'car'], cell: 30 });
    const cells = elements(svg, 'rect').filter((r) => r.width === '30');
    assert.deepEqual(cells.map((c) => c.fill), ['rgb(70,100,144)', 'rgb(193,203,218)', HEAT_NAN, HEAT_NAN]);
    // Cells are laid out row-major: same row, next column is 30 px to the right.
    assert.equal(Number(cells[1]!.x) - Number(cells[0]!.x), 30);
    assert.equal(Number(cells[2]!.y) - Number(cells[0]!.y), 30);
    assert.match(svg, />75</);
    assert.match(svg, />25</);
    assert.match(svg, /road → car: 1 \(25\.0%\)/);
  });

  it("normalize 'none' divides by the largest value; a wrong size is an error", () => {
    const svg = heatmapSvg({ values: [4, 2], rowLabels: ['r'], colLabels: ['a', 'b'], normalize: 'none', cell: 20 });
    const cells = elements(svg, 'rect').filter((r) => r.width === '20');
    assert.deepEqual(cells.map((c) => c.fill), [`rgb(${heatColor(1).join(',')})`, `rgb(${heatColor(0.5).join(',')})`]);
    assert.throws(() => heatmapSvg({ values: [1, 2, 3], rowLabels: ['a', 'b'] }), /3 values for 2 row labels x 2 column labels \(expected 4\)/);
  });
});

describe('history curves', () => {
  const history = [
    { epoch: 1, step: 10, train_loss: 1.5, val_loss: null, val_miou: '', lr: 0.001 },
    { epoch: 2, step: 20, train_loss: '1.1', val_loss: 1.2, val_miou: '0.31', lr: 0.0008 },
    { epoch: 3, step: 30, train_loss: 0.9, val_loss: 'nan', val_miou: 0.42, lr: 0.0005 },
  ];

  it('reads numbers, numeric strings and empty cells from metrics.csv rows', () => {
    assert.equal(cellNumber('0.5'), 0.5);
    assert.ok(Number.isNaN(cellNumber(null)) && Number.isNaN(cellNumber('')) && Number.isNaN(cellNumber('nan')));
    assert.deepEqual(historyAxis(history), { key: 'step', label: 'step' });
    assert.deepEqual(historyAxis([{ epoch: 1 }]), { key: 'epoch', label: 'epoch' });
    assert.deepEqual(historyAxis([{ loss: 1 }]), { key: null, label: 'row' });
    assert.deepEqual(historySeries(history, 'train_loss'), [[10, 1.5], [20, 1.1], [30, 0.9]]);
    assert.deepEqual(historySeries(history, 'val_loss'), [[20, 1.2], [30, NaN]]); // empty cell skipped (no evaluation), 'nan' a gap
    assert.deepEqual(historySeries([{ loss: 2 }, { loss: 1 }], 'loss'), [[1, 2], [2, 1]]);
  });

  it('draws one chart per group that has values, metrics as percentages', () => {
    const charts = historyCharts(history);
    assert.deepEqual(charts.map((c) => c.key), ['loss', 'metrics', 'lr']);
    assert.match(charts[1]!.svg, />40%</);
    // All charts share the x range of the history (steps 10..30): the first mIoU point (step 20) is mid-plot.
    const miou = elements(charts[1]!.svg, 'polyline')[0]!;
    assert.ok(miou.points!.startsWith(`${LINE_MARGIN.left + 200},`), miou.points);
    assert.deepEqual(historyCharts([]), []);
  });
});

describe('formatting', () => {
  it('numbers, percentages, durations and configs', () => {
    assert.deepEqual([0, 0.00005, 0.123, 1.234, 123.4, 2e7].map(formatNumber), ['0', '5.0e-5', '0.12', '1.23', '123', '2.0e7']);
    assert.equal(formatPercent(0.4567), '45.7%');
    assert.equal(formatPercent(NaN), 'n/a');
    assert.deepEqual([12.34, 245, 7620].map(formatDuration), ['12.3 s', '4 min 05 s', '2 h 07 min']);
    const cyc: Record<string, unknown> = { a: 1n, b: NaN };
    cyc.self = cyc;
    assert.deepEqual(JSON.parse(configJson(cyc)), { a: '1', b: 'NaN', self: '[circular]' });
  });
});

describe('colour masks and sample strips', () => {
  const palette: RGB[] = [[255, 0, 0], [0, 255, 0]];

  it('colorizeLabel paints palette colours and the ignore colour; other ids are an error', () => {
    assert.deepEqual([...colorizeLabel(Uint8Array.from([0, 1, 255]), palette, 255, [9, 9, 9])], [255, 0, 0, 0, 255, 0, 9, 9, 9]);
    assert.throws(() => colorizeLabel(Uint8Array.from([0, 2]), palette, 255, [0, 0, 0], 'sample "f1" pred'), /sample "f1" pred: value 2 at pixel 1 is neither a class id \(0\.\.1\) nor the ignore index 255/);
  });

  it('errorMap marks wrong pixels red and ignored ones grey', () => {
    const m = errorMap(Uint8Array.from([0, 1, 255]), Uint8Array.from([0, 0, 1]), 255);
    assert.deepEqual([...m], [...ERROR_COLORS.correct, ...ERROR_COLORS.wrong, ...ERROR_COLORS.ignore]);
  });

  it('sampleStrip puts image, truth, prediction and errors side by side', async () => {
    const s = {
      id: 'f1', width: 2, height: 1,
      image: Uint8Array.from([10, 20, 30, 40, 50, 60]),
      label: Uint8Array.from([0, 255]),
      pred: Uint8Array.from([1, 1]),
    };
    const png = await sampleStrip(s, palette, 255, 'sample', { gap: 1 });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [4 * 2 + 3, 1, 3]);
    const px = (x: number): number[] => [...data.subarray(x * 3, x * 3 + 3)];
    assert.deepEqual([0, 1].map(px), [[10, 20, 30], [40, 50, 60]]); // image
    assert.deepEqual(px(2), [255, 255, 255]); // gap
    assert.deepEqual([3, 4].map(px), [[255, 0, 0], MASK_IGNORE]); // truth
    assert.deepEqual([6, 7].map(px), [[0, 255, 0], [0, 255, 0]]); // prediction
    assert.deepEqual([9, 10].map(px), [ERROR_COLORS.wrong, ERROR_COLORS.ignore]); // errors
    await assert.rejects(sampleStrip({ ...s, pred: Uint8Array.from([1]) }, palette, 255, 'worst image'), /worst image "f1": pred has 1 values, expected 2 \(2x1\)/);
  });

  it('wide samples are scaled to 320 px tiles; masks keep exact palette colours', async () => {
    const w = 640, h = 10;
    const label = new Uint8Array(w * h).map((_, i) => ((i % w) < w / 2 ? 0 : 1));
    const png = await sampleStrip({ id: 'wide', width: w, height: h, image: new Uint8Array(w * h * 3).fill(100), label, pred: label }, palette, 255);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [4 * 320 + 12, 5]);
    const colours = new Set<string>();
    for (let x = 324; x < 644; x++) colours.add(data.subarray(x * 3, x * 3 + 3).join(','));
    assert.deepEqual([...colours].sort(), ['0,255,0', '255,0,0']);
  });
});
