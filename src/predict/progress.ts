// Progress of a predict run in frames (an image is one frame): a cli-progress bar on a TTY, like
// training's ProgressReporter, a log line every 10 s otherwise, or nothing (--quiet).
import cliProgress from 'cli-progress';

export type ProgressMode = 'bar' | 'log' | 'none';

export class PredictProgress {
  private bar: cliProgress.SingleBar | null = null;
  private done = 0;
  private lastLog = 0;
  private readonly t0 = performance.now();

  constructor(
    readonly mode: ProgressMode,
    private total: number,
    private readonly log: (line: string) => void = (l) => console.error(l),
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    if (mode === 'bar') {
      this.bar = new cliProgress.SingleBar(
        { stream, format: 'predict [{bar}] {value}/{total} frames | {fps} frames/s | {item} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { fps: '0.0', item: '' });
    }
  }

  private fps(): string {
    return (this.done / Math.max((performance.now() - this.t0) / 1000, 1e-9)).toFixed(1);
  }

  /** n more frames done, from `item` (a file name). */
  tick(n: number, item: string): void {
    this.done += n;
    if (this.done > this.total) this.total = this.done; // a video's frame count may be an estimate
    if (this.bar) {
      this.bar.setTotal(this.total);
      this.bar.update(this.done, { fps: this.fps(), item });
    } else if (this.mode === 'log') {
      const now = Date.now();
      if (now - this.lastLog > 10_000 || this.done === this.total) {
        this.lastLog = now;
        this.log(`predict: ${this.done}/${this.total} frames (${this.fps()} frames/s) ${item}`);
      }
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
