// The web app with integer convolutions: `streetseg app --int8 --calibrate` on the shipped camvid-best
// (MobileViT-XXS), run by onnxruntime-web's WASM integer kernels in Chromium. Its class ids are checked
// against libtorch's fp32 `predict` on CamVid frames: WASM integer arithmetic is the same on every CPU, so
// the agreement is a property of the quantised model, not of the machine.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeImage } from '../src/data/decode.js';
import { repoRoot } from '../src/util/paths.js';
import { agreement, camvidFrames, openSite, predictIds, segmentInPage, type OpenSite } from './helpers/app-page.js';
import { dataset } from './helpers/test-inputs.js';

const CHECKPOINT = path.join(repoRoot, 'models', 'camvid-best');

describe('web app in Chromium: camvid-best with integer convolutions', { timeout: 600_000 }, () => {
  let site: OpenSite | undefined;
  before(async () => {
    site = await openSite(CHECKPOINT, { int8: true, calibrate: dataset('camvid'), calibrationImages: 8, webgpu: false });
  });
  after(async () => {
    await site?.close();
  });

  it('the site carries QLinearConv for WASM, and the page segments CamVid frames as libtorch fp32 does (≥ 98% of pixels)', { timeout: 240_000 }, async (t) => {
    const { built, app, tmp } = site!;
    assert.deepEqual(app.errors, []);
    assert.equal(built.int8, true);
    assert.ok(built.convs?.int8 && built.convs.qlinearConvs >= 20, JSON.stringify(built.convs));
    assert.match(built.convs!.reason, /WASM/);
    const frames = camvidFrames(2);
    const ref = await predictIds(CHECKPOINT, null, frames, path.join(tmp, 'pred-torch'));
    for (const [i, file] of frames.entries()) {
      const img = await decodeImage(file);
      const r = await segmentInPage(app.page, img.data, img.width, img.height);
      const a = agreement(r.ids, ref[i]!);
      t.diagnostic(`${path.basename(file)}: ${(100 * a).toFixed(3)}% of ${r.ids.length} pixels agree with libtorch fp32 (model ${r.modelMs.toFixed(0)} ms)`);
      assert.ok(a >= 0.98, `${file}: ${(100 * a).toFixed(3)}% agree`);
    }
  });
});
