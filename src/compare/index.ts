// `streetseg compare` as an API: see compare.ts.
export { compareModels, writeComparison, COMPARE_FILES, type CompareOptions } from './compare.js';
export { CompareInputError } from './errors.js';
export { resolveInput, identifyVariant, variantName, matchRecipe, type CompareInput, type TrainingSummary } from './inputs.js';
export { compareRuntimes, RUNTIME_NAMES, type CompareRuntime, type RuntimeName } from './runtimes.js';
export { compareTable, markdownTable, textTable, trainedText } from './table.js';
export { compareChartSvg, CHART_SIZE } from './chart.js';
export type { CompareResult, CompareRow, RuntimeResult } from './types.js';
