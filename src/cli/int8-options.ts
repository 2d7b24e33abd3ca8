// The options that pick what `--int8` quantises, shared by export, app and eval (compare calibrates on its
// --data with the auto mode): calibration frames for integer convolutions and the convolutions' mode
// (src/export/int8-convs.ts).
import { DEFAULT_CALIBRATION_IMAGES } from '../export/calibrate.js';
import type { CheckpointExportOptions } from '../export/export.js';
import { CONV_MODES, type ConvMode } from '../export/int8-convs.js';
import { UsageError, type OptionSpec, type ParsedArgs } from './command.js';

/** The options; `where` says where the file runs ("this CPU", "the browser"), `defaultData` what --calibrate defaults to. */
export function int8Options(where: string, defaultData?: string): OptionSpec[] {
  return [
    {
      name: 'calibrate',
      type: 'string',
      help: `with --int8: frames to calibrate the integer convolutions' activation ranges on: a dataset folder (its train split), a folder of images or one image${defaultData ? `; default ${defaultData}` : ''}`,
    },
    { name: 'calibration-images', type: 'int', min: 1, help: 'with --calibrate: how many frames, evenly spaced through the sorted list', default: DEFAULT_CALIBRATION_IMAGES },
    { name: 'int8-convs', type: 'string', choices: [...CONV_MODES], help: `with --int8: convolutions as integer QLinearConv (int8), fp32, or auto: int8 when calibrated and they pay on ${where}`, default: 'auto' },
  ];
}

/**
 * The parsed options as exportCheckpoint's settings; `calibrate` is the default --calibrate, if any. `needs`
 * names what --calibrate goes with (e.g. "--int8") when the command line lacks it, so it is not ignored.
 */
export function int8Settings(opts: ParsedArgs['opts'], o: { calibrate?: string; needs?: string } = {}): Pick<CheckpointExportOptions, 'calibrate' | 'calibrationImages' | 'int8Convs'> {
  if (o.needs && opts.calibrate !== undefined) throw new UsageError(`--calibrate ${opts.calibrate}: calibrates int8 convolutions, so it needs ${o.needs}`);
  const given = (opts.calibrate as string | undefined) ?? o.calibrate;
  return {
    ...(given ? { calibrate: given } : {}),
    calibrationImages: (opts['calibration-images'] as number | undefined) ?? DEFAULT_CALIBRATION_IMAGES,
    int8Convs: ((opts['int8-convs'] as string | undefined) ?? 'auto') as ConvMode,
  };
}
