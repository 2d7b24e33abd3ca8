// streetseg's library surface.
export * as torch from './torch/index.js';
