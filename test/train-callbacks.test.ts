// Callbacks on hand-made evaluation sequences: early stopping, top-k checkpoints, metrics.csv rows.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EpochSummary, EvalResult, TrainContext } from '../src/train/callback.js';
import { EarlyStopping } from '../src/train/callbacks/early-stopping.js';
import { ModelCheckpoint } from '../src/train/callbacks/model-checkpoint.js';
import { formatCsv, summaryRow } from '../src/train/callbacks/csv-logger.js';

function fakeEval(epoch: number, loss: number, miou: number): EvalResult {
  return {
    epoch,
    step: epoch * 10,
    loss,
    metrics: { meanIou: miou, meanAccuracy: 0.5, overallAccuracy: 0.6, perClassIou: [], perClassAccuracy: [], numPixels: 1 },
    confusion: new Float64Array(0),
    numImages: 1,
    seconds: 1,
    imagesPerSecond: 1,
    perImage: [],
    samples: [],
    worst: [],
  };
}

function fakeCtx() {
  const events: string[] = [];
  const ctx = {
    state: { epoch: 0, step: 0, batchInEpoch: 0 },
    batchesPerEpoch: 10,
    requestStop: (r: string) => events.push(`stop: ${r}`),
    saveCheckpoint: async (n: string) => {
      events.push(`save ${n}`);
      return n;
    },
    removeCheckpoint: (n: string) => events.push(`remove ${n}`),
    log: () => undefined,
  } as unknown as TrainContext;
  return { ctx, events };
}

describe('training callbacks', () => {
  it('EarlyStopping on val_loss (min) with patience 2 and min_delta 0.01', () => {
    const { ctx, events } = fakeCtx();
    const es = new EarlyStopping('val_loss', 'min', 2, 0.01);
    // 1.0 best; 0.995 is within min_delta (no improvement, wait 1); 0.9 improves (wait 0); 0.95, 0.91 → wait 2 → stop.
    for (const [e, l] of [[1, 1.0], [2, 0.995], [3, 0.9], [4, 0.95]] as const) es.onValidationEnd(ctx, fakeEval(e, l, 0));
    assert.deepEqual([es.best, es.wait, events.length], [0.9, 1, 0]);
    // The state round-trips through a checkpoint: a resumed run stops at the same evaluation.
    const resumed = new EarlyStopping('val_loss', 'min', 2, 0.01);
    resumed.loadStateDict(JSON.parse(JSON.stringify(es.stateDict())));
    resumed.onValidationEnd(ctx, fakeEval(5, 0.91, 0));
    assert.equal(events.length, 1);
    assert.match(events[0]!, /stop: val_loss did not improve on 0\.9000 for 2 evaluations \(patience 2\)/);
  });

  it('EarlyStopping ignores NaN and works in max mode', () => {
    const { ctx, events } = fakeCtx();
    const es = new EarlyStopping('val_miou', 'max', 1);
    es.onValidationEnd(ctx, fakeEval(1, 0, 0.3));
    es.onValidationEnd(ctx, fakeEval(2, 0, 0.4));
    assert.equal(events.length, 0);
    es.onValidationEnd(ctx, fakeEval(3, 0, NaN));
    assert.equal(events.length, 1);
  });

  it('ModelCheckpoint keeps the top-k by the monitored value and saves the new one before removing the displaced', async () => {
    const { ctx, events } = fakeCtx();
    const mc = new ModelCheckpoint('val_miou', 'max', 2);
    for (const [e, m] of [[1, 0.2], [2, 0.4], [3, 0.3], [4, 0.1], [5, 0.5]] as const) await mc.onValidationEnd(ctx, fakeEval(e, 0, m));
    assert.deepEqual(mc.best.map((k) => [k.epoch, k.value]), [[5, 0.5], [2, 0.4]]);
    assert.deepEqual(events, [
      'save best-epoch=1-val_miou=0.2000',
      'save best-epoch=2-val_miou=0.4000',
      'save best-epoch=3-val_miou=0.3000',
      'remove best-epoch=1-val_miou=0.2000',
      'save best-epoch=5-val_miou=0.5000',
      'remove best-epoch=3-val_miou=0.3000',
    ]);
  });

  it('ModelCheckpoint saves last every N steps (not on an epoch\'s final batch) and at epoch end', async () => {
    const { ctx, events } = fakeCtx();
    const mc = new ModelCheckpoint('val_loss', 'min', 1, 3);
    const st = ctx.state as { step: number; batchInEpoch: number };
    for (let s = 1; s <= 10; s++) {
      st.step = s;
      st.batchInEpoch = s;
      await mc.onTrainBatchEnd(ctx, { loss: 0, batch: null as never, seconds: 0 });
    }
    await mc.onEpochEnd(ctx, {} as EpochSummary);
    assert.deepEqual(events, ['save last', 'save last', 'save last', 'save last']); // steps 3, 6, 9, epoch end
  });

  it('metrics.csv rows: RECIPE columns, empty val cells on epochs without evaluation', () => {
    const base = { step: 45, trainLoss: 1.5, lr: 0.0006, epochTrainSeconds: 80, trainImagesPerSecond: 4.5, seconds: 81, rssMiB: 1536.5 };
    const csv = formatCsv([summaryRow({ ...base, epoch: 1, eval: null }), summaryRow({ ...base, epoch: 2, eval: fakeEval(2, 0.9, 0.25) })]);
    assert.equal(
      csv,
      'epoch,step,train_loss,val_loss,val_miou,val_macc,val_aacc,seconds,lr,epoch_train_s,train_img_s,eval_s,eval_img_s,rss_mib\n' +
        '1,45,1.50000,,,,,81,0.000600000,80,4.50000,,,1536.50\n' +
        '2,45,1.50000,0.900000,0.250000,0.500000,0.600000,81,0.000600000,80,4.50000,1,1,1536.50\n',
    );
  });
});
