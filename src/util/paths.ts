// Where the shared data and fixtures live: ../shared beside the repo, or the environment's override.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is at <root>/dist/src/util/paths.js when compiled). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const sharedRoot = (): string => process.env.STREETSEG_SHARED ?? path.resolve(repoRoot, '..', 'shared');
export const dataRoot = (): string => process.env.STREETSEG_DATA ?? path.join(sharedRoot(), 'data');
export const fixturesRoot = (): string => path.join(sharedRoot(), 'fixtures');
