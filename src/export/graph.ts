// A small ONNX graph builder. Emitters (one per model family, src/models/<family>/onnx.ts) describe the eval
// forward pass with it; it hands out unique value names, keeps initializers, and turns weights into
// int8 form when asked (QDQ weights; linear layers as DynamicQuantizeMatMul).
//
// API in one block:
//   const g = new GraphBuilder({ opset: 17, int8: { minElements: 4096 } });
//   const x = g.input('pixel_values', [ 'N', 3, 'H', 'W' ]);        // string dims are dim_param (dynamic)
//   const w = g.weight('conv.weight', tensor, 0);                      // a Conv/MatMul weight; axis = output channels;
//                                                                      //   int8 mode: int8 init + scale + DequantizeLinear
//   const b = g.initializer('conv.bias', tensor);                      // any fp32 constant, under its checkpoint name
//   const c = g.ints([0, -1, 4]);                                      // an anonymous int64 constant (shapes, axes)
//   const y = g.node('Conv', [x, w, b], { pads: [1, 1, 1, 1], strides: [2, 2] });
//   g.output('logits', y, ['N', 12, 'h', 'w']);
//   const model = g.toModelProto();                                   // a plain object for serialize.ts
// Attributes: integers → INT, integer arrays → INTS, strings → STRING, f(x) / fs([…]) → FLOAT / FLOATS.
import { DataType, AttrType } from './proto.js';
import type { Tensor } from '../torch/index.js';

export type Dim = number | string;
export class FloatAttr {
  constructor(readonly value: number | number[]) {}
}
export const f = (v: number): FloatAttr => new FloatAttr(v);
export const fs = (v: number[]): FloatAttr => new FloatAttr(v);
export type AttrValue = number | number[] | string | FloatAttr;

export interface Int8Options {
  /** Weights with fewer elements stay fp32 (biases never count: they are not passed to weight()). */
  minElements: number;
  /**
   * Linear layers as onnxruntime's DynamicQuantizeMatMul: the weight int8 per output channel, the
   * activations quantised to uint8 per tensor at run time, the product in integer GEMM kernels (MLAS's
   * u8s8 QGEMM: VNNI where the CPU has it, 128-bit WASM SIMD in browsers), then scaled back to fp32.
   */
  dynamicLinear?: boolean;
  /**
   * Convolutions with at least `minElements` weights as QLinearConv: uint8 activations per tensor at the
   * calibrated ranges of each conv's input and output (calibrate.ts), int8 weights per output channel.
   * 'observe' is the calibration graph: those convs in fp32 on their int8-rounded weights, their inputs
   * and outputs exposed as graph outputs (observe()).
   */
  convs?: ConvRanges | 'observe';
  /**
   * Conv weights in [-63, 63] instead of [-127, 127]: u8·s8 products summed in pairs then fit int16, so
   * the AVX2/AVX-512 kernels without VNNI (vpmaddubsw) cannot saturate. Costs one bit of weight precision.
   */
  reduceRange?: boolean;
}

/** An activation's calibrated range. */
export interface Range {
  min: number;
  max: number;
}
/** A quantised conv's key (its checkpoint prefix) → the ranges of its input and output. */
export type ConvRanges = Map<string, { input: Range; output: Range }>;

export interface GraphBuilderOptions {
  opset?: number;
  int8?: Int8Options | null;
  name?: string;
}

export interface QuantizedWeight {
  /** int8 values, the weight's shape. */
  q: Int8Array;
  /** One scale per channel along `axis`. */
  scale: Float32Array;
  axis: number;
  /** q * scale: the weights the int8 graph effectively computes with. */
  dequantized: Float32Array;
}

export const MIN_OPSET = 13;
export const MAX_OPSET = 17;

/**
 * Per-channel symmetric int8: scale_c = max|w_c| / qmax (1 for an all-zero channel), q = round(w / scale_c)
 * clamped to [-qmax, qmax] (qmax 127, or 63 for Int8Options.reduceRange); -128 is never used so the range
 * is symmetric.
 */
export function quantizePerChannel(w: Float32Array, dims: number[], axis: number, qmax = 127): QuantizedWeight {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const scale = new Float32Array(channels);
  const chanOf = (i: number) => Math.floor(i / inner) % channels;
  for (let i = 0; i < w.length; i++) {
    const c = chanOf(i);
    scale[c] = Math.max(scale[c]!, Math.abs(w[i]!));
  }
  for (let c = 0; c < channels; c++) scale[c] = scale[c]! > 0 ? Math.fround(scale[c]! / qmax) : 1;
  const q = new Int8Array(w.length);
  const dequantized = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const s = scale[chanOf(i)]!;
    q[i] = Math.max(-qmax, Math.min(qmax, Math.round(w[i]! / s)));
    dequantized[i] = q[i]! * s;
  }
  return { q, scale, axis, dequantized };
}

interface NodeRecord {
  op_type: string;
  domain?: string;
  name: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

const f32Bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class GraphBuilder {
  readonly opset: number;
  readonly int8: Int8Options | null;
  /** Checkpoint name → the weights the graph computes with after int8 rounding (int8 mode only). */
  readonly dequantized = new Map<string, Float32Array>();
  private readonly names = new Set<string>();
  private readonly nodes: NodeRecord[] = [];
  private readonly inits: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly domains = new Set<string>();
  private counter = 0;
  /** DynamicQuantizeMatMul nodes emitted by dynamicLinear. */
  dynamicLinears = 0;
  /** QLinearConv nodes (Int8Options.convs). */
  qlinearConvs = 0;
  /** In the 'observe' graph: observation key → the value exposed as a graph output (observe()). */
  readonly observed = new Map<string, string>();

  constructor(private readonly opts: GraphBuilderOptions = {}) {
    this.opset = opts.opset ?? 17;
    if (!Number.isInteger(this.opset) || this.opset < MIN_OPSET || this.opset > MAX_OPSET) {
      throw new RangeError(`opset ${opts.opset}: expected an integer from ${MIN_OPSET} to ${MAX_OPSET}`);
    }
    this.int8 = opts.int8 ?? null;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** A fresh value name: `hint` if unused, else hint_1, hint_2, … */
  fresh(hint: string): string {
    let n = hint;
    while (this.names.has(n)) n = `${hint}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph: value name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  input(name: string, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), DataType.FLOAT, dims));
    return name;
  }

  /** Marks `value` as a graph output named `name` (an Identity node renames it when they differ). */
  output(name: string, value: string, dims: Dim[]): void {
    if (value !== name) this.nodes.push({ op_type: 'Identity', name: this.fresh(`Identity_${name}`), input: [value], output: [this.claim(name)], attribute: [] });
    this.outputs.push(valueInfo(name, DataType.FLOAT, dims));
  }

  /** An fp32 initializer under `name` (a checkpoint key); dims default to the tensor's shape. */
  initializer(name: string, data: Tensor | Float32Array, dims?: number[]): string {
    const [arr, shape] = asFloat(data, dims, name);
    this.inits.push({ name: this.claim(name), data_type: DataType.FLOAT, dims: shape, raw_data: f32Bytes(arr) });
    return name;
  }

  /** An int64 constant (shapes, axes, split sizes). */
  ints(values: number[], dims: number[] = [values.length]): string {
    return this.typed('const_i64', DataType.INT64, dims, new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer));
  }

  /** An anonymous fp32 constant (scalars such as 0.5 or eps). */
  floats(values: number[], dims: number[] = [values.length]): string {
    return this.typed('const_f32', DataType.FLOAT, dims, f32Bytes(new Float32Array(values)));
  }

  /**
   * A Conv/MatMul/Gemm weight under its checkpoint name; `axis` is its output-channel axis. In int8 mode a
   * weight with at least `minElements` elements is stored as int8 (`name`) + per-channel scales
   * (`name_scale`) and read through DequantizeLinear; the returned value name is what the consumer uses.
   */
  weight(name: string, data: Tensor | Float32Array, axis: number, dims?: number[]): string {
    const [arr, shape] = asFloat(data, dims, name);
    if (!this.int8 || arr.length < this.int8.minElements) return this.initializer(name, arr, shape);
    const qw = quantizePerChannel(arr, shape, axis);
    this.dequantized.set(name, qw.dequantized);
    this.inits.push({ name: this.claim(name), data_type: DataType.INT8, dims: shape, raw_data: new Uint8Array(qw.q.buffer) });
    const scale = this.initializer(`${name}_scale`, qw.scale, [qw.scale.length]);
    return this.node('DequantizeLinear', [name, scale], { axis }, { name: `${name}_dequantized` });
  }

  /** Whether convolutions with this many weights are QLinearConv (or observed, in the calibration graph). */
  quantizesConv(elements: number): boolean {
    return !!this.int8?.convs && elements >= this.int8.minElements;
  }

  /** Calibration graph: exposes `value` as a graph output under its own name, read back as `key`. */
  observe(key: string, value: string): void {
    if (this.observed.has(key)) throw new Error(`ONNX graph: '${key}' is already observed`);
    if (![...this.observed.values()].includes(value)) this.outputs.push({ name: value, type: { tensor_type: { elem_type: DataType.FLOAT } } });
    this.observed.set(key, value);
  }

  /** An anonymous constant of any type from its bytes (zero points, int8 weights, int32 biases). */
  typed(hint: string, dataType: number, dims: number[], bytes: Uint8Array): string {
    const name = this.fresh(hint);
    this.inits.push({ name, data_type: dataType, dims, raw_data: bytes });
    return name;
  }

  /** Whether dynamicLinear quantises a weight of this many elements. */
  quantizesLinear(elements: number): boolean {
    return !!this.int8?.dynamicLinear && elements >= this.int8.minElements;
  }

  /**
   * x[M, K]·Wᵀ + bias for a [N, K] weight as DynamicQuantizeMatMul (see Int8Options.dynamicLinear), or
   * null when this builder does not quantise it (not in that mode, or a weight below minElements).
   * `name` is the weight's checkpoint key (its dequantised values go to `dequantized`) unless
   * `checkpointKey` is false (a weight stacked from several); the int8 values are stored transposed, [K, N].
   */
  dynamicLinear(x: string, name: string, data: Tensor | Float32Array, bias: string, dims?: number[], o: { checkpointKey?: boolean } = {}): string | null {
    // the size test first: in fp32 mode every linear passes here, and its weight need not be copied
    const elements = data instanceof Float32Array ? data.length : data.shape.reduce((a, b) => a * b, 1);
    if (!this.quantizesLinear(elements)) return null;
    const [w, shape] = asFloat(data, dims, name);
    if (shape.length !== 2) throw new RangeError(`ONNX dynamicLinear '${name}': expected a [out, in] weight, got [${shape}]`);
    const [n, k] = shape as [number, number];
    const qw = quantizePerChannel(w, shape, 0);
    if (o.checkpointKey !== false) this.dequantized.set(name, qw.dequantized);
    const qt = new Int8Array(w.length);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) qt[j * n + i] = qw.q[i * k + j]!;
    this.inits.push({ name: this.claim(name), data_type: DataType.INT8, dims: [k, n], raw_data: new Uint8Array(qt.buffer) });
    const scale = this.initializer(`${name}_scale`, qw.scale, [n]);
    this.dynamicLinears++;
    return this.node('DynamicQuantizeMatMul', [x, name, scale, '', bias], {}, { domain: 'com.microsoft' });
  }

  /** One node with one output; returns the output's name. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, o: { domain?: string; name?: string } = {}): string {
    return this.nodeN(op, inputs, 1, attrs, o)[0]!;
  }

  /** One node with `n` outputs. An input '' is an omitted optional input. */
  nodeN(op: string, inputs: string[], n: number, attrs: Record<string, AttrValue> = {}, o: { domain?: string; name?: string } = {}): string[] {
    for (const i of inputs) if (i !== '' && !this.names.has(i)) throw new Error(`ONNX graph: ${op} reads '${i}', which nothing defines`);
    const base = o.name ?? `${op}_${this.nodes.length}`;
    const outputs = Array.from({ length: n }, (_, k) => this.fresh(n === 1 ? base : `${base}_${k}`));
    if (o.domain) this.domains.add(o.domain);
    this.nodes.push({
      op_type: op,
      ...(o.domain ? { domain: o.domain } : {}),
      name: this.fresh(`node_${base}`),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** The ModelProto as a plain object (ir_version 8: what onnx 1.12's checker and ORT 1.30 accept for opset ≤ 17). */
  toModelProto(meta: Record<string, string> = {}): Record<string, unknown> {
    return {
      ir_version: 8,
      producer_name: 'streetseg',
      opset_import: [{ domain: '', version: this.opset }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      metadata_props: Object.entries(meta).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.opts.name ?? 'streetseg',
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }
}

function asFloat(data: Tensor | Float32Array, dims: number[] | undefined, name: string): [Float32Array, number[]] {
  if (data instanceof Float32Array) {
    if (!dims) throw new Error(`ONNX initializer '${name}': a Float32Array needs its dims`);
    if (dims.reduce((a, b) => a * b, 1) !== data.length) throw new RangeError(`ONNX initializer '${name}': ${data.length} values do not fit dims [${dims}]`);
    return [data, dims];
  }
  if (data.dtype !== 'float32') throw new TypeError(`ONNX initializer '${name}': expected float32, got ${data.dtype}`);
  const arr = data.contiguous().toArray() as Float32Array;
  const shape = dims ?? data.shape;
  if (shape.reduce((a, b) => a * b, 1) !== arr.length) throw new RangeError(`ONNX initializer '${name}': shape [${data.shape}] does not fit dims [${shape}]`);
  return [arr, shape];
}

function valueInfo(name: string, elemType: number, dims: Dim[]): Record<string, unknown> {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

function attribute(name: string, v: AttrValue): Record<string, unknown> {
  if (v instanceof FloatAttr) return Array.isArray(v.value) ? { name, type: AttrType.FLOATS, floats: v.value } : { name, type: AttrType.FLOAT, f: v.value };
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (!v.every(Number.isInteger)) throw new TypeError(`ONNX attribute '${name}': integer list expected (use fs([…]) for floats)`);
    return { name, type: AttrType.INTS, ints: v };
  }
  if (!Number.isInteger(v)) throw new TypeError(`ONNX attribute '${name}': ${v} is not an integer (use f(x) for floats)`);
  return { name, type: AttrType.INT, i: v };
}
