// Standard layers with PyTorch's parameter names and default initialisation.
import * as aten from '../generated/aten.js';
import * as F from '../ops.js';
import { empty, ones, zeros } from '../factories.js';
import { noGrad } from '../modes.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/** In-place U(-bound, bound) from libtorch's seeded generator. */
export function uniform_(t: Tensor, bound: number): Tensor {
  noGrad(() => aten.uniform_(t, { from: -bound, to: bound }));
  return t;
}
/** In-place N(mean, std) from libtorch's seeded generator. */
export function normal_(t: Tensor, mean: number, std: number): Tensor {
  noGrad(() => aten.normal_(t, { mean, std }));
  return t;
}

export class Linear extends Module {
  private readonly hasBias: boolean;
  get weight(): Tensor {
    return this.get_('weight');
  }
  get bias(): Tensor | null {
    return this.hasBias ? this.get_('bias') : null;
  }
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    // PyTorch default: kaiming_uniform(a=√5) on the weight = U(±1/√fan_in); the bias likewise.
    const bound = 1 / Math.sqrt(inFeatures);
    this.hasBias = opts.bias !== false;
    this.param('weight', uniform_(empty([outFeatures, inFeatures]), bound));
    if (this.hasBias) this.param('bias', uniform_(empty([outFeatures]), bound));
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

/** A square Linear named `dense`, then dropout: the `output` block after HF's attention (SegFormer, MobileViT). */
export class DenseDropout extends Module {
  readonly dense: Linear;
  constructor(hidden: number, readonly p: number) {
    super();
    this.dense = this.child('dense', new Linear(hidden, hidden));
  }
  forward(x: Tensor): Tensor {
    return F.dropout(this.dense.forward(x), this.p, this.training);
  }
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  private readonly hasBias: boolean;
  get weight(): Tensor {
    return this.get_('weight');
  }
  get bias(): Tensor | null {
    return this.hasBias ? this.get_('bias') : null;
  }
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, o: Conv2dOptions = {}) {
    super();
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    this.dilation = o.dilation ?? 1;
    this.groups = o.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new RangeError(`Conv2d: channels ${inChannels}->${outChannels} not divisible by groups ${this.groups}`);
    }
    const fanIn = (inChannels / this.groups) * kernelSize * kernelSize;
    const bound = 1 / Math.sqrt(fanIn);
    this.hasBias = o.bias !== false;
    this.param('weight', uniform_(empty([outChannels, inChannels / this.groups, kernelSize, kernelSize]), bound));
    if (this.hasBias) this.param('bias', uniform_(empty([outChannels]), bound));
  }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

export class LayerNorm extends Module {
  get weight(): Tensor {
    return this.get_('weight');
  }
  get bias(): Tensor {
    return this.get_('bias');
  }
  readonly shape: number[];
  constructor(shape: number | number[], readonly eps = 1e-5) {
    super();
    this.shape = Array.isArray(shape) ? shape : [shape];
    this.param('weight', ones(this.shape));
    this.param('bias', zeros(this.shape));
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.shape, this.weight, this.bias, this.eps);
  }
}

export class BatchNorm2d extends Module {
  get weight(): Tensor {
    return this.get_('weight');
  }
  get bias(): Tensor {
    return this.get_('bias');
  }
  get runningMean(): Tensor {
    return this.get_('running_mean');
  }
  get runningVar(): Tensor {
    return this.get_('running_var');
  }
  get numBatchesTracked(): Tensor {
    return this.get_('num_batches_tracked');
  }
  constructor(readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super();
    this.param('weight', ones([numFeatures]));
    this.param('bias', zeros([numFeatures]));
    this.buffer('running_mean', zeros([numFeatures]));
    this.buffer('running_var', ones([numFeatures]));
    this.buffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
  }
  forward(x: Tensor): Tensor {
    if (this.training) noGrad(() => this.numBatchesTracked.add_(1));
    return F.batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, this.training, this.momentum, this.eps);
  }
}

export class Dropout extends Module {
  constructor(readonly p: number) {
    super();
    if (p < 0 || p >= 1) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

export class DropPath extends Module {
  constructor(readonly p: number) {
    super();
    if (p < 0 || p >= 1) throw new RangeError(`DropPath: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropPath(x, this.p, this.training);
  }
}
