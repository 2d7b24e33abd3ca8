// nn.Module: named parameters, buffers and children (names mirror checkpoint keys), train/eval,
// stateDict/loadStateDict with a strict report of missing, unexpected and mis-shaped keys.
import { keep } from '../memory.js';
import { noGrad } from '../modes.js';
import type { DType, Tensor } from '../tensor.js';

export interface LoadReport {
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

export class StateDictError extends Error {
  override name = 'StateDictError';
  constructor(
    readonly report: LoadReport,
    context = 'loadStateDict',
  ) {
    const parts: string[] = [];
    const list = (xs: string[]) => (xs.length > 12 ? [...xs.slice(0, 12), `… (${xs.length - 12} more)`] : xs).join(', ');
    if (report.missing.length) parts.push(`missing keys (${report.missing.length}): ${list(report.missing)}`);
    if (report.unexpected.length) parts.push(`unexpected keys (${report.unexpected.length}): ${list(report.unexpected)}`);
    if (report.mismatched.length) {
      parts.push(
        `shape mismatches (${report.mismatched.length}): ` +
          report.mismatched.map((m) => `${m.key} expected [${m.expected}] got [${m.got}]`).join('; '),
      );
    }
    super(`${context}: ${parts.join('; ')}`);
  }
}

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();

  /** Registers a trainable parameter (requires grad, never disposed by tidy). */
  protected param(name: string, t: Tensor): Tensor {
    keep(t);
    if (!t.requiresGrad) t.setRequiresGrad(true);
    this._params.set(name, t);
    return t;
  }
  /** Registers a persistent non-trainable tensor (e.g. batch-norm running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    keep(t);
    this._buffers.set(name, t);
    return t;
  }
  /** A registered parameter or buffer by local name (layers read their tensors through this, so that
   * to() can replace them). */
  protected get_(name: string): Tensor {
    const t = this._params.get(name) ?? this._buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name}: no parameter or buffer '${name}'`);
    return t;
  }
  protected child<M extends Module>(name: string, m: M): M {
    this._children.set(name, m);
    return m;
  }

  children(): [string, Module][] {
    return [...this._children];
  }
  *modules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, c] of this._children) yield* c.modules(prefix ? `${prefix}.${n}` : n);
  }
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.modules(prefix)) for (const [n, t] of m._params) out.push([mp ? `${mp}.${n}` : n, t]);
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.modules(prefix)) for (const [n, t] of m._buffers) out.push([mp ? `${mp}.${n}` : n, t]);
    return out;
  }
  /** Parameters and buffers by full name (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  /**
   * Copies tensors into the module's parameters and buffers (in place, so optimizers keep their
   * references). strict: any missing, unexpected or mis-shaped key is an error listing them all.
   * Non-strict: loads what matches and returns the report.
   */
  loadStateDict(sd: Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadReport {
    const own = this.stateDict();
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
    for (const k of own.keys()) if (!sd.has(k)) report.missing.push(k);
    for (const [k, v] of sd) {
      const mine = own.get(k);
      if (!mine) report.unexpected.push(k);
      else if (mine.shape.join(',') !== v.shape.join(',')) report.mismatched.push({ key: k, expected: mine.shape, got: v.shape });
    }
    const bad = report.missing.length + report.unexpected.length + report.mismatched.length;
    if ((opts.strict ?? true) && bad > 0) throw new StateDictError(report);
    const mismatched = new Set(report.mismatched.map((m) => m.key));
    noGrad(() => {
      for (const [k, v] of sd) {
        const mine = own.get(k);
        if (mine && !mismatched.has(k)) mine.copy_(v);
      }
    });
    return report;
  }

  /**
   * Converts floating-point parameters and buffers to dtype (new tensors; old ones are disposed).
   * Integer buffers such as num_batches_tracked keep their dtype. Optimizers must be built after.
   */
  to(dtype: DType): this {
    for (const [, m] of this.modules()) {
      for (const map of [m._params, m._buffers]) {
        for (const [n, t] of map) {
          if (!['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype) || t.dtype === dtype) continue;
          const c = keep(noGrad(() => t.to(dtype)));
          if (map === m._params) c.setRequiresGrad(true);
          map.set(n, c);
          t.dispose();
        }
      }
    }
    return this;
  }

  train(on = true): this {
    for (const [, m] of this.modules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Sets every parameter's grad to None (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }
  /** Frees every parameter and buffer. The module is unusable afterwards. */
  dispose(): void {
    for (const [, t] of this.stateDict()) t.dispose();
  }
}

/** An indexed list of modules; children are named "0", "1", … like torch.nn.ModuleList. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  constructor(items: M[] = []) {
    super();
    for (const m of items) this.push(m);
  }
  push(m: M): void {
    this.child(String(this.items.length), m);
    this.items.push(m);
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new RangeError(`ModuleList index ${i} out of range (length ${this.items.length})`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
