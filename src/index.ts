// streetseg's library surface: the tensor engine, models, the data layer, and the Hub client.
export * as torch from './torch/index.js';
export * from './models/index.js';
export { openDataset, detectFormat } from './data/dataset.js';
export { decodeSample } from './data/decode.js';
export { DataLoader, type Batch } from './data/loader.js';
export { batchToTensors } from './data/tensors.js';
export { buildPreset } from './data/augment/index.js';
export { computeStats, classWeights } from './data/stats.js';
export { renderStatsChart } from './report/stats-chart.js';
export { writeReport } from './report/index.js';
export type { ReportData, ReportEval, ReportSample } from './report/types.js';
export { randomSplit, splitDataset } from './data/split.js';
export { writeSyntheticDataset } from './data/synthetic.js';
export { downloadDataset } from './data/download.js';
export * as hub from './hub/index.js';
export type * from './data/types.js';
