// A Hugging Face Hub client of our own: repo ids, the shared cache, resumable checked downloads.
export { resolveCheckpoint, isHubCheckpoint, hubOutputDir, type CheckpointRef, type CheckpointArgOptions } from './checkpoint.js';
export { resolveHubCheckpoint, type HubCheckpoint, type ResolveHubOptions, type CheckpointFiles } from './resolve.js';
export { hubSettings, type HubSettings } from './settings.js';
export { HubError, type HubErrorCode } from './errors.js';
export { RepoCache } from './cache.js';
export { isRepoId, repoFolderName } from './repo.js';
