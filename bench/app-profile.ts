// onnxruntime-web's profile, read back from the console lines its endProfiling() prints (one JSON event
// per line, Chrome-trace style: {"cat":"Node","name":"<node>_kernel_time","dur":µs,"args":{op_name,provider,…}}).
// A node's time is its fastest run of those profiled (a preempted run on a shared CPU only adds time), and
// the summary adds them up per operator type and per execution provider (a node on another provider than
// the session's is a fallback).

export interface ProfiledOp {
  op: string;
  ms: number;
  nodes: number;
  /** Share of all kernel time. */
  share: number;
}

export interface ProfileSummary {
  runs: number;
  /** Σ over nodes of each node's fastest kernel time (ms). */
  kernelMs: number;
  ops: ProfiledOp[];
  /** Nodes per execution provider. */
  providers: Record<string, number>;
  /** The slowest nodes: name, op, ms, output shape. */
  slowest: { node: string; op: string; ms: number; output: string }[];
}

interface KernelEvent {
  name: string;
  dur: number;
  args: { op_name?: string; provider?: string; output_type_shape?: unknown };
}

function kernelEvents(lines: readonly string[]): KernelEvent[] {
  const out: KernelEvent[] = [];
  for (const line of lines) {
    const t = line.trim().replace(/,$/, '');
    if (!t.startsWith('{') || !t.includes('_kernel_time')) continue;
    let e: { cat?: string; name?: string; dur?: number; args?: KernelEvent['args'] };
    try {
      e = JSON.parse(t);
    } catch {
      continue; // a console line that only looks like an event
    }
    if (e.cat === 'Node' && typeof e.name === 'string' && e.name.endsWith('_kernel_time') && typeof e.dur === 'number') out.push({ name: e.name, dur: e.dur, args: e.args ?? {} });
  }
  return out;
}

export function summarizeProfile(lines: readonly string[], top = 12): ProfileSummary {
  const events = kernelEvents(lines);
  const best = new Map<string, KernelEvent>();
  const counts = new Map<string, number>();
  for (const e of events) {
    counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
    const b = best.get(e.name);
    if (!b || e.dur < b.dur) best.set(e.name, e);
  }
  const byOp = new Map<string, { us: number; nodes: number }>();
  const providers: Record<string, number> = {};
  let total = 0;
  for (const e of best.values()) {
    const op = e.args.op_name ?? '?';
    const s = byOp.get(op) ?? { us: 0, nodes: 0 };
    s.us += e.dur;
    s.nodes++;
    byOp.set(op, s);
    const p = e.args.provider ?? '?';
    providers[p] = (providers[p] ?? 0) + 1;
    total += e.dur;
  }
  const ms = (us: number) => +(us / 1000).toFixed(2);
  return {
    runs: Math.max(0, ...counts.values()),
    kernelMs: ms(total),
    ops: [...byOp.entries()].sort((a, b) => b[1].us - a[1].us).map(([op, s]) => ({ op, ms: ms(s.us), nodes: s.nodes, share: +(s.us / (total || 1)).toFixed(3) })),
    providers,
    slowest: [...best.values()].sort((a, b) => b.dur - a.dur).slice(0, top).map((e) => ({
      node: e.name.replace(/_kernel_time$/, ''),
      op: e.args.op_name ?? '?',
      ms: ms(e.dur),
      output: JSON.stringify(e.args.output_type_shape ?? null),
    })),
  };
}
