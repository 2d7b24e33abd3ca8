// The state of libtorch's default CPU generator, for exact resume: every CPU random op (rand, randn,
// dropout, randperm, init) draws from it, so a checkpoint that stores these bytes and restores them
// continues the same random stream; manualSeed sets it from a seed.
import { native } from './native.js';

/** A copy of the default CPU generator's state (opaque bytes; valid for this libtorch version). */
export const getRngState = (): Uint8Array => native.getRngState();

/** Restores a state returned by getRngState(); bytes of another length are a RangeError. */
export const setRngState = (bytes: Uint8Array): void => native.setRngState(bytes);

/** Seeds the default CPU generator (torch.manual_seed). */
export const manualSeed = (seed: number): void => native.manualSeed(seed);
