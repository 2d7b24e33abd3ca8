// `streetseg train`: every training setting is a flag (and a config key), see src/train/config.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { metricsJson } from '../../metrics/miou.js';
import { defaultCallbacks, EarlyStopping } from '../../train/callbacks/index.js';
import type { Callback } from '../../train/callback.js';
import { readDistEnv } from '../../train/distributed/env.js';
import { launchLocal } from '../../train/distributed/launch.js';
import { initProcessGroup, type ProcessGroup } from '../../torch/distributed.js';
import { coerceFlag, ConfigError, flagName, readConfigFile, resolveConfig, SETTING_KEYS, SETTINGS, validatePartial, type SettingKey, type TrainConfig } from '../../train/config.js';
import { checkpointPath, readRunConfig, runPaths } from '../../train/run-dir.js';
import { resolveCheckpoint } from '../../hub/index.js';
import { PRESETS, presetConfig } from '../../train/presets.js';
import { Trainer } from '../../train/trainer.js';
import type { Command, OptionSpec, ParsedArgs } from '../command.js';

/** Settings that may change on --resume without changing what the run computes. */
const RESUMABLE: readonly SettingKey[] = ['epochs', 'maxSteps', 'progress', 'workers', 'prefetch', 'threads', 'tensorboard', 'reportSamples', 'reportWorst', 'nproc', 'distTimeout'];

const settingOptions: OptionSpec[] = SETTING_KEYS.map((k) => {
  const d = SETTINGS[k].default;
  return { name: flagName(k), type: typeof d === 'boolean' ? 'boolean' : 'string', help: `${SETTINGS[k].help} [default: ${typeof d === 'object' ? JSON.stringify(d) : String(d) || '-'}]` };
});

function flagLayer(opts: ParsedArgs['opts']): Partial<TrainConfig> {
  const raw: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) {
    const v = opts[flagName(k)];
    if (v !== undefined) raw[k] = coerceFlag(k, v as string | boolean);
  }
  return validatePartial(raw, 'flags', true);
}

function defaultRunDir(preset: string | undefined, model: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return path.join('runs', `${preset ?? path.basename(model)}-${stamp}`);
}

export const trainCommand: Command = {
  name: 'train',
  usage: '[--preset NAME] [--config FILE.json|yaml] [--data DIR] [--model b0|DIR|ORG/NAME [--revision REV]] [--out RUN_DIR] [settings…] | --resume RUN_DIR',
  options: [
    { name: 'preset', type: 'string', help: `starting settings: ${Object.entries(PRESETS).map(([n, p]) => `${n} (${p.about})`).join('; ')}`, choices: Object.keys(PRESETS) },
    { name: 'config', type: 'string', help: 'a JSON or YAML file of settings (a run directory\'s config.json works too)' },
    { name: 'out', type: 'string', help: 'run directory (default runs/<preset|model>-<time>)' },
    { name: 'resume', type: 'string', help: 'continue the run in this directory from checkpoints/last' },
    { name: 'quiet', type: 'boolean', help: 'no progress output (same as --progress none)' },
    ...settingOptions,
  ],
  async run(args) {
    const { opts } = args;
    const flags = flagLayer(opts);
    if (opts.quiet) flags.progress = 'none';
    let cfg: TrainConfig;
    let runDir: string;
    const resume = opts.resume as string | undefined;
    if (resume) {
      if (!fs.existsSync(runPaths(resume).config)) throw new ConfigError(`--resume ${resume}: no config.json there (is it a run directory?)`);
      const { resolved: _, ...saved } = readRunConfig(resume);
      const bad = Object.keys(flags).filter((k) => !RESUMABLE.includes(k as SettingKey));
      if (bad.length || opts.preset || opts.config) {
        throw new ConfigError(`--resume: ${[...bad.map((k) => `--${flagName(k)}`), ...(opts.preset ? ['--preset'] : []), ...(opts.config ? ['--config'] : [])].join(', ')} cannot change on resume (only ${RESUMABLE.map((k) => `--${flagName(k)}`).join(', ')})`);
      }
      cfg = resolveConfig(saved, flags);
      runDir = resume;
    } else {
      const layers = [opts.preset ? presetConfig(opts.preset as string) : {}, opts.config ? readConfigFile(opts.config as string) : {}, flags];
      cfg = resolveConfig(...layers);
      runDir = (opts.out as string | undefined) ?? defaultRunDir(opts.preset as string | undefined, cfg.model);
      if (fs.existsSync(runPaths(runDir).checkpoints)) {
        throw new ConfigError(`--out ${runDir}: already holds a run (checkpoints/); use --resume ${runDir} to continue it, or another --out`);
      }
    }
    const distEnv = readDistEnv();
    // A Hub repo id is fetched once here (by the launcher too, so that its workers find it cached).
    const quiet = cfg.progress === 'none' || (!!distEnv && distEnv.rank !== 0);
    const ref = resume ? null : await resolveCheckpoint(cfg.model, { revision: cfg.revision || undefined, quiet });
    if (!distEnv && cfg.nproc > 1) {
      // The launcher: the same command in nproc workers, all on this run directory.
      const argv = process.argv.slice(2);
      if (!resume && opts.out === undefined) argv.push('--out', runDir);
      return launchLocal({ nproc: cfg.nproc, argv, timeoutSeconds: cfg.distTimeout, threadsPerWorker: cfg.threads });
    }
    let group: ProcessGroup | null = null;
    if (distEnv) group = initProcessGroup({ masterAddr: distEnv.masterAddr, masterPort: distEnv.masterPort, rank: distEnv.rank, worldSize: distEnv.worldSize, timeoutMs: cfg.distTimeout * 1000 });
    const isMain = !group || group.rank === 0;
    const progress = !isMain ? 'none' : cfg.progress === 'auto' ? (process.stderr.isTTY ? 'bar' : 'log') : cfg.progress;
    const std = defaultCallbacks(cfg, progress);
    const { report, checkpoints } = std;
    // Only rank 0 writes (logs, TensorBoard, report, checkpoints); early stopping decides on metrics
    // reduced across ranks, so every rank runs it and stops at the same epoch.
    const callbacks: Callback[] = isMain ? std.callbacks : std.callbacks.filter((c) => c instanceof EarlyStopping);
    const log = progress === 'none' ? () => undefined : (l: string) => console.error(l);
    const pretrained = ref?.hub ? { dir: ref.dir, hub: { repo: ref.hub.repo, revision: ref.hub.revision, commit: ref.hub.commit } } : undefined;
    const trainer = new Trainer(cfg, runDir, { resume: !!resume, callbacks, log, ...(group ? { distributed: { group, syncBn: cfg.syncBn, ...(distEnv?.localWorldSize ? { localWorldSize: distEnv.localWorldSize } : {}) } } : {}), ...(pretrained ? { pretrained } : {}) });
    const onSignal = (sig: NodeJS.Signals): void => {
      console.error(`\n${sig}: finishing the current step and saving checkpoints/last…`);
      trainer.interrupt(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const r = await trainer.fit();
      const ev = r.lastEval;
      const out = {
        runDir: path.resolve(r.runDir),
        status: r.how,
        epochs: r.state.epoch,
        steps: r.state.step,
        seconds: Number(r.state.elapsedSeconds.toFixed(1)),
        best: checkpoints.best[0] ? path.resolve(checkpointPath(r.runDir, checkpoints.best[0].name)) : null,
        last: path.resolve(checkpointPath(r.runDir, 'last')),
        report: report.path,
        eval: ev ? { epoch: ev.epoch, loss: ev.loss, ...metricsJson(ev.metrics, r.classes), numImages: ev.numImages, imagesPerSecond: ev.imagesPerSecond } : null,
      };
      if (r.how === 'interrupted') {
        const sig = trainer.interruptedBy;
        if (isMain) console.error(`interrupted by ${sig}; checkpoints/last saved. Resume with: streetseg train --resume ${runDir}`);
        if (isMain) console.log(JSON.stringify(out));
        return sig === 'SIGTERM' ? 143 : 130;
      }
      if (isMain) console.log(JSON.stringify(out));
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      group?.destroy();
    }
  },
};
