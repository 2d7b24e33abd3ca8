// Adam and AdamW with PyTorch 1.13 semantics (single-tensor path), and their state for save/resume.
import * as aten from '../generated/aten.js';
import { zerosLike } from '../factories.js';
import { keep, tidy } from '../memory.js';
import { noGrad } from '../modes.js';
import { float, type Tensor } from '../tensor.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
}

export interface ParamGroup {
  params: Tensor[];
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  /** The lr the schedule multiplies (set at construction). */
  initialLr: number;
}

interface ParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  maxExpAvgSq?: Tensor;
}

/** Serializable optimizer state: tensors by "<index>.<name>" plus JSON for the rest (PyTorch layout). */
export interface OptimizerState {
  tensors: Map<string, Tensor>;
  json: { kind: string; state: Record<string, { step: number }>; paramGroups: (Omit<ParamGroup, 'params'> & { params: number[] })[] };
}

export class Adam {
  readonly groups: ParamGroup[];
  protected readonly state = new Map<Tensor, ParamState>();
  readonly kind: string;
  protected readonly decoupled: boolean;

  constructor(
    params: Tensor[] | { params: Tensor[]; lr?: number; weightDecay?: number }[],
    o: AdamOptions = {},
    variant: { kind: string; decoupled: boolean; defaultWd: number } = { kind: 'Adam', decoupled: false, defaultWd: 0 },
  ) {
    this.kind = variant.kind;
    this.decoupled = variant.decoupled;
    const defaultWd = variant.defaultWd;
    const base = {
      lr: o.lr ?? 1e-3,
      betas: o.betas ?? ([0.9, 0.999] as [number, number]),
      eps: o.eps ?? 1e-8,
      weightDecay: o.weightDecay ?? defaultWd,
      amsgrad: o.amsgrad ?? false,
    };
    const groups = params.length > 0 && !('params' in (params[0] as object)) ? [{ params: params as Tensor[] }] : (params as { params: Tensor[] }[]);
    this.groups = groups.map((g) => {
      const lr = (g as { lr?: number }).lr ?? base.lr;
      return { ...base, ...g, lr, initialLr: lr, weightDecay: (g as { weightDecay?: number }).weightDecay ?? base.weightDecay };
    });
    for (const g of this.groups) {
      if (!(g.lr >= 0)) throw new RangeError(`${this.kind}: invalid lr ${g.lr}`);
      if (!(g.eps >= 0)) throw new RangeError(`${this.kind}: invalid eps ${g.eps}`);
      if (!(g.betas[0] >= 0 && g.betas[0] < 1 && g.betas[1] >= 0 && g.betas[1] < 1)) {
        throw new RangeError(`${this.kind}: invalid betas [${g.betas}]`);
      }
    }
  }

  /** Sets every parameter's gradient to None. */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.grad = null;
  }

  /** One update from the accumulated gradients (parameters without a grad are skipped). */
  step(): void {
    noGrad(() => {
      for (const g of this.groups) {
        const [b1, b2] = g.betas;
        for (const p of g.params) {
          tidy(() => {
            let grad = p.grad;
            if (!grad) return;
            let s = this.state.get(p);
            if (!s) {
              s = { step: 0, expAvg: zerosLike(p), expAvgSq: zerosLike(p) };
              if (g.amsgrad) s.maxExpAvgSq = zerosLike(p);
              this.state.set(p, s);
              keepState(s);
            }
            s.step += 1;
            if (g.weightDecay !== 0) {
              if (this.decoupled) p.mul_(float(1 - g.lr * g.weightDecay));
              else grad = grad.add(p, float(g.weightDecay));
            }
            s.expAvg.mul_(float(b1)).add_(grad, float(1 - b1));
            s.expAvgSq.mul_(float(b2)).addcmul_(grad, grad, float(1 - b2));
            const bc1 = 1 - Math.pow(b1, s.step);
            const bc2 = 1 - Math.pow(b2, s.step);
            const stepSize = g.lr / bc1;
            let denomSrc = s.expAvgSq;
            if (s.maxExpAvgSq) {
              s.maxExpAvgSq.copy_(aten.maximum(s.maxExpAvgSq, s.expAvgSq));
              denomSrc = s.maxExpAvgSq;
            }
            const denom = denomSrc.sqrt().div(float(Math.sqrt(bc2))).add_(float(g.eps));
            p.addcdiv_(s.expAvg, denom, float(-stepSize));
          });
        }
      }
    });
  }

  /** Frees the moment estimates (the optimizer is unusable afterwards). */
  dispose(): void {
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
  }

  /** Sets each group's lr to initialLr × factor (for schedules). */
  setLrFactor(factor: number): void {
    for (const g of this.groups) g.lr = g.initialLr * factor;
  }
  get lr(): number {
    return this.groups[0]?.lr ?? 0;
  }

  stateDict(): OptimizerState {
    const index = new Map<Tensor, number>();
    let i = 0;
    for (const g of this.groups) for (const p of g.params) index.set(p, i++);
    const tensors = new Map<string, Tensor>();
    const state: Record<string, { step: number }> = {};
    for (const [p, s] of this.state) {
      const k = index.get(p)!;
      state[k] = { step: s.step };
      tensors.set(`${k}.exp_avg`, s.expAvg);
      tensors.set(`${k}.exp_avg_sq`, s.expAvgSq);
      if (s.maxExpAvgSq) tensors.set(`${k}.max_exp_avg_sq`, s.maxExpAvgSq);
    }
    let j = 0;
    const paramGroups = this.groups.map(({ params, ...rest }) => ({ ...rest, params: params.map(() => j++) }));
    return { tensors, json: { kind: this.kind, state, paramGroups } };
  }

  /** Restores state saved by stateDict() for the same parameter list (copies tensors). */
  loadStateDict(sd: OptimizerState): void {
    if (sd.json.kind !== this.kind) throw new TypeError(`loadStateDict: state is for ${sd.json.kind}, this optimizer is ${this.kind}`);
    const params = this.groups.flatMap((g) => g.params);
    const nSaved = sd.json.paramGroups.reduce((n, g) => n + g.params.length, 0);
    if (nSaved !== params.length || sd.json.paramGroups.length !== this.groups.length) {
      throw new RangeError(`loadStateDict: saved state has ${nSaved} params in ${sd.json.paramGroups.length} groups, optimizer has ${params.length} in ${this.groups.length}`);
    }
    sd.json.paramGroups.forEach((pg, gi) => {
      const g = this.groups[gi]!;
      Object.assign(g, { lr: pg.lr, betas: pg.betas, eps: pg.eps, weightDecay: pg.weightDecay, amsgrad: pg.amsgrad, initialLr: pg.initialLr });
    });
    for (const old of this.state.values()) disposeState(old);
    this.state.clear();
    noGrad(() => {
      for (const [k, st] of Object.entries(sd.json.state)) {
        const p = params[Number(k)]!;
        const get = (n: string): Tensor => {
          const t = sd.tensors.get(`${k}.${n}`);
          if (!t) throw new Error(`loadStateDict: missing optimizer tensor ${k}.${n}`);
          if (t.shape.join(',') !== p.shape.join(',')) throw new RangeError(`loadStateDict: ${k}.${n} has shape [${t.shape}], param has [${p.shape}]`);
          return zerosLike(p).copy_(t);
        };
        const s: ParamState = { step: st.step, expAvg: get('exp_avg'), expAvgSq: get('exp_avg_sq') };
        if (sd.tensors.has(`${k}.max_exp_avg_sq`)) s.maxExpAvgSq = get('max_exp_avg_sq');
        keepState(s);
        this.state.set(p, s);
      }
    });
  }
}

/** AdamW: Adam with decoupled weight decay (p ← p·(1 − lr·wd) before the Adam update); default wd 0.01. */
export class AdamW extends Adam {
  constructor(params: Tensor[] | { params: Tensor[]; lr?: number; weightDecay?: number }[], o: AdamOptions = {}) {
    super(params, o, { kind: 'AdamW', decoupled: true, defaultWd: 0.01 });
  }
}

function keepState(s: ParamState): void {
  keep([s.expAvg, s.expAvgSq, s.maxExpAvgSq]);
}
function disposeState(s: ParamState): void {
  s.expAvg.dispose();
  s.expAvgSq.dispose();
  s.maxExpAvgSq?.dispose();
}
