// Every shipped zoo model loads, and `streetseg eval` on CamVid reproduces the headline its card states,
// to the printed digits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatMetric } from '../src/metrics/miou.js';
import { readZooCard, zooModels } from '../src/models/zoo.js';
import { dataRoot, repoRoot } from '../src/util/paths.js';

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/**
 * The card's digits, or (only where the measured value lies within `slack` of the rounding boundary
 * next to them) the neighbouring digits: a few pixels whose argmax flips between CPUs' float32 kernels move
 * mIoU by ~1e-6, which changes a printed digit only at a boundary.
 */
function sameDigits(measured: number, printed: string, slack = 2e-6): boolean {
  if (formatMetric(measured) === printed) return true;
  const p = Number(printed);
  const boundary = measured > p ? p + 5e-5 : p - 5e-5;
  return Math.abs(measured - boundary) <= slack;
}

describe('model zoo', () => {
  const models = zooModels();
  for (const name of ['camvid-best', 'camvid-scratch']) {
    it(`ships ${name}`, () => {
      assert.ok(models.some((d) => path.basename(d) === name), `models/: ${models.map((d) => path.basename(d)).join(', ')}`);
    });
  }

  for (const dir of models) {
    it(`${path.basename(dir)}: eval reproduces the card's headline`, () => {
      const card = readZooCard(dir);
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-zoo-'));
      const r = spawnSync(process.execPath, [cli, 'eval', '--checkpoint', dir, '--data', path.join(dataRoot(), 'camvid'), '--split', card.split, '--json', '--out', out], { encoding: 'utf8' });
      fs.rmSync(out, { recursive: true, force: true });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.deepEqual(got.scales, card.scales);
      assert.ok(sameDigits(got.meanIou, card.mean_iou), `mIoU ${got.meanIou} vs the card's ${card.mean_iou}`);
      assert.ok(sameDigits(got.meanAccuracy, card.mean_accuracy), `mAcc ${got.meanAccuracy} vs the card's ${card.mean_accuracy}`);
      assert.ok(sameDigits(got.overallAccuracy, card.overall_accuracy), `aAcc ${got.overallAccuracy} vs the card's ${card.overall_accuracy}`);
      // The model card's type is the checkpoint's.
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      assert.ok(card.model.startsWith(cfg.model_type), `card model ${card.model}, config model_type ${cfg.model_type}`);
    });
  }

  it('the boundary rule accepts only rounding-boundary flips', () => {
    assert.ok(sameDigits(0.59871, '0.5987'));
    assert.ok(sameDigits(0.598749, '0.5987'));
    assert.ok(sameDigits(0.5987501, '0.5987'));
    assert.ok(!sameDigits(0.59877, '0.5987'));
    assert.ok(!sameDigits(0.5986, '0.5987'));
  });
});
