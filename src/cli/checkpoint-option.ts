// The options every command that takes a checkpoint shares: the checkpoint (a directory, or a Hub repo id)
// and --revision for a Hub id.
import type { OptionSpec } from './command.js';

export const checkpointHelp = (what: string): string => `${what}, or a Hugging Face Hub repo id ORG/NAME (fetched into the huggingface_hub cache; HF_HUB_OFFLINE, HF_ENDPOINT, HF_TOKEN apply)`;

export const revisionOption: OptionSpec = { name: 'revision', type: 'string', help: 'with a Hub repo id: its branch, tag or commit [default: main]' };
