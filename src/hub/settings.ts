// Where the Hub is and where its files are kept, from the environment variables huggingface_hub reads, with
// its defaults, so that Python and streetseg use one cache and one login.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface HubSettings {
  /** HF_ENDPOINT, without a trailing slash (default https://huggingface.co). */
  endpoint: string;
  /** HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub. */
  cacheDir: string;
  /** HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is 1/ON/YES/TRUE: no network at all. */
  offline: boolean;
  /** HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the token file; null when there is none. Never printed. */
  token: string | null;
  /** Where the token came from, for messages ('HF_TOKEN', or the token file's path). */
  tokenSource: string | null;
  /** Seconds to wait for metadata (HEAD) answers and for download data (HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT, default 10). */
  etagTimeoutS: number;
  downloadTimeoutS: number;
}

const isTrue = (v: string | undefined): boolean => v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function seconds(env: NodeJS.ProcessEnv, name: string): number {
  const v = env[name];
  if (v === undefined || v.trim() === '') return 10;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name}=${v}: expected a positive number of seconds`);
  return n;
}

/** A token as a header value: printable ASCII, no spaces. Its text is never part of a message. */
function checkToken(token: string, source: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(`${source}: the token has spaces, control or non-ASCII characters; expected one line like hf_…`);
  return token;
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (env.HF_ENDPOINT?.trim() || 'https://huggingface.co').replace(/\/+$/, '');
  let u: URL | null = null;
  try {
    u = new URL(endpoint);
  } catch {
    u = null;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new Error(`HF_ENDPOINT=${endpoint}: expected an http(s) URL such as https://huggingface.co`);
  const home = expandHome(env.HF_HOME?.trim() || path.join(env.XDG_CACHE_HOME?.trim() || path.join(os.homedir(), '.cache'), 'huggingface'));
  const cacheDir = path.resolve(expandHome(env.HF_HUB_CACHE?.trim() || env.HUGGINGFACE_HUB_CACHE?.trim() || path.join(home, 'hub')));
  let token: string | null = null;
  let tokenSource: string | null = null;
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
    const v = env[name]?.trim();
    if (v) {
      token = checkToken(v, name);
      tokenSource = name;
      break;
    }
  }
  if (token === null) {
    const file = path.resolve(expandHome(env.HF_TOKEN_PATH?.trim() || path.join(home, 'token')));
    const text = fs.existsSync(file) && fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8').trim() : '';
    if (text) {
      token = checkToken(text, file);
      tokenSource = file;
    }
  }
  return {
    endpoint,
    cacheDir,
    offline: isTrue(env.HF_HUB_OFFLINE || env.TRANSFORMERS_OFFLINE),
    token,
    tokenSource,
    etagTimeoutS: seconds(env, 'HF_HUB_ETAG_TIMEOUT'),
    downloadTimeoutS: seconds(env, 'HF_HUB_DOWNLOAD_TIMEOUT'),
  };
}
