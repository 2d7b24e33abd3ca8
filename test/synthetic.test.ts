// Synthetic scenes: deterministic from the seed, a valid CamSeq01 folder in the CamVid palette, varied
// classes, and images that are related to but not a copy of the labels.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseArgs } from '../src/cli/command.js';
import { synthCommand } from '../src/cli/commands/synth.js';
import { openDataset } from '../src/data/dataset.js';
import { decodeSample } from '../src/data/decode.js';
import { computeStats } from '../src/data/stats.js';
import { renderScene, sceneLabelRgb, writeSyntheticDataset } from '../src/data/synthetic.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-synth-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('synthetic scenes', () => {
  it('are deterministic from (seed, index) and differ across seeds and frames', () => {
    const a = renderScene(5, 3, 160, 120);
    const b = renderScene(5, 3, 160, 120);
    assert.ok(Buffer.from(a.image).equals(Buffer.from(b.image)));
    assert.ok(Buffer.from(a.classes).equals(Buffer.from(b.classes)));
    assert.ok(!Buffer.from(renderScene(6, 3, 160, 120).classes).equals(Buffer.from(a.classes)));
    assert.ok(!Buffer.from(renderScene(5, 4, 160, 120).classes).equals(Buffer.from(a.classes)));
    assert.equal(a.image.length, 160 * 120 * 3);
    assert.throws(() => renderScene(1, 0, 8, 8), RangeError);
  });

  it('write a CamSeq01 folder that decodes with the 12 groups; rerunning gives identical files', async () => {
    const dir = path.join(tmp, 'a');
    const ids = await writeSyntheticDataset(dir, { count: 6, seed: 11, width: 192, height: 144 });
    assert.deepEqual(ids, ['synth_00000', 'synth_00001', 'synth_00002', 'synth_00003', 'synth_00004', 'synth_00005']);
    const spec = openDataset(dir, { void: 'class' }); // auto-detected as camseq01
    assert.equal(spec.format, 'camseq01');
    assert.equal(spec.samples.length, 6);
    assert.equal(spec.classes.names.length, 12);
    // Every label colour is in the palette (unknown colours would throw) and matches the rendered scene.
    const st = await computeStats(spec);
    assert.equal(st.unknownPixels, 0);
    assert.equal(st.totalPixels, 6 * 192 * 144);
    const present = st.counts.map((c, i) => (c > 0 ? spec.classes.names[i] : null)).filter((x) => x !== null);
    for (const must of ['Sky', 'Building', 'Road', 'Sidewalk']) assert.ok(present.includes(must), `${must} missing from ${present}`);
    assert.ok(present.length >= 7, `only ${present.join(', ')} present`);
    const again = path.join(tmp, 'b');
    await writeSyntheticDataset(again, { count: 6, seed: 11, width: 192, height: 144 });
    for (const f of fs.readdirSync(dir)) assert.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(again, f))), `${f} differs`);
    // Frame i does not depend on count.
    const one = path.join(tmp, 'c');
    await writeSyntheticDataset(one, { count: 3, seed: 11, width: 192, height: 144 });
    assert.ok(fs.readFileSync(path.join(one, 'synth_00002_L.png')).equals(fs.readFileSync(path.join(dir, 'synth_00002_L.png'))));
  });

  it('images are noisy and textured but the classes are separable by colour on average', async () => {
    const scene = renderScene(3, 0, 240, 180);
    // Within one class region the image varies (noise/texture)...
    const lab = sceneLabelRgb(scene);
    assert.equal(lab.length, scene.image.length);
    const byClass = new Map<number, number[][]>();
    for (let p = 0; p < scene.classes.length; p++) {
      const c = scene.classes[p]!;
      if (!byClass.has(c)) byClass.set(c, [[], [], []]);
      for (let k = 0; k < 3; k++) byClass.get(c)![k]!.push(scene.image[p * 3 + k]!);
    }
    const stats = [...byClass.entries()]
      .filter(([, v]) => v[0]!.length > 200)
      .map(([c, v]) => {
        const mean = v.map((ch) => ch.reduce((a, b) => a + b, 0) / ch.length);
        const sd = v.map((ch, k) => Math.sqrt(ch.reduce((a, b) => a + (b - mean[k]!) ** 2, 0) / ch.length));
        return { c, mean, sd };
      });
    assert.ok(stats.length >= 3);
    for (const s of stats) assert.ok(s.sd.some((x) => x > 2), `class ${s.c} is flat: sd ${s.sd}`);
    // ...and the image is not the label colour map.
    let same = 0;
    for (let i = 0; i < lab.length; i++) if (lab[i] === scene.image[i]) same++;
    assert.ok(same < lab.length * 0.2, `${same} of ${lab.length} values equal the label colours`);
    // ...but the big classes have distinct mean colours.
    for (let i = 0; i < stats.length; i++) {
      for (let j = i + 1; j < stats.length; j++) {
        const d = Math.hypot(...stats[i]!.mean.map((m, k) => m - stats[j]!.mean[k]!));
        assert.ok(d > 5, `classes ${stats[i]!.c} and ${stats[j]!.c} have similar mean colours`);
      }
    }
  });

  it('streetseg synth writes the requested frames', async () => {
    const dir = path.join(tmp, 'cli');
    const orig = process.stdout.write.bind(process.stdout);
    let out = '';
    process.stdout.write = ((c: string | Uint8Array, ...rest: never[]) => (typeof c === 'string' ? ((out += c), true) : orig(c, ...rest))) as typeof process.stdout.write;
    try {
      await synthCommand.run(parseArgs(synthCommand, ['--dir', dir, '--count', '2', '--seed', '4', '--width', '64', '--height', '48']));
    } finally {
      process.stdout.write = orig;
    }
    assert.match(out, /wrote 2 frames \(64x48, seed 4\)/);
    const spec = openDataset(dir);
    assert.equal(spec.samples.length, 2);
    const d = await decodeSample(spec.samples[1]!, spec.label, spec.classes);
    assert.deepEqual([d.width, d.height], [64, 48]);
    assert.ok(fs.existsSync(path.join(dir, 'label_colors.txt')) && fs.existsSync(path.join(dir, 'label_colors11.txt')));
    assert.throws(() => parseArgs(synthCommand, ['--dir', dir, '--count', '0']), { message: 'streetseg synth: --count 0: expected an integer >= 1' });
    assert.throws(() => parseArgs(synthCommand, ['--dir', dir, '--count', '2', '--width', '8']), { message: 'streetseg synth: --width 8: expected an integer >= 16' });
  });
});
