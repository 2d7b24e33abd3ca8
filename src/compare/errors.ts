// Kept apart from inputs.ts so that the measuring child (runtimes.ts) does not import the model code, and
// with it libtorch, into an onnxruntime process whose peak RSS it reports.

/** A command-line input compare refuses (not a run or checkpoint, an unknown runtime). */
export class CompareInputError extends Error {
  override name = 'CompareInputError';
}
