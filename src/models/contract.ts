// The contract every segmentation family implements (HF PreTrainedModel-like): a config with labels,
// one forward that returns logits and, given labels, the loss; checkpoint prefixes for loading
// foreign checkpoints; and HF's weight initialisation. The trainer, the exporter and the checkpoint
// loader only see this class.
import { BatchNorm2d, Conv2d, LayerNorm, Linear, Module, noGrad, normal_, type Tensor } from '../torch/index.js';
import { segmentationLoss } from './loss.js';
import type { ModelFamily } from './registry.js';

// One scaled-size rule for eval's views, compare's latency size, predict's and the web app's model input;
// it lives with the pixel code so that the browser bundle can use it without libtorch.
export { scaledSize } from '../data/preprocess.js';

export interface SegmentationOutput {
  /** (B, numLabels, h, w) with h = ⌈H/outputStride⌉. */
  logits: Tensor;
  /** Present when labels were given. */
  loss?: Tensor;
}

export interface SegLossOptions {
  /** Per-class weights (weighted mean, as torch cross_entropy). */
  weight?: Tensor | null;
  /** Default: config.semantic_loss_ignore_index in the model's forward, 255 in segmentationLoss. */
  ignoreIndex?: number;
  /** Default 0. */
  labelSmoothing?: number;
  /** > 0: focal loss -w_y (1-p_y)^γ log p_y, normalised like weighted CE (Σ / Σ w_y over non-ignored). */
  focalGamma?: number;
}

/** Fields every family's config carries (HF names, exactly as in config.json). */
export interface BaseSegConfig {
  model_type: string;
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  semantic_loss_ignore_index: number;
  num_channels: number;
  initializer_range: number;
  [k: string]: unknown;
}

/**
 * streetseg's own key in a checkpoint's config.json (HF keeps unknown keys and ignores them): the input
 * scales, relative to the label size, that the model was trained to be evaluated at. A model trained on
 * half-size frames (`--preset camvid-best`) carries [0.5], so that `eval` and `predict` run it at half
 * size by default, wherever the checkpoint is copied. Absent means [1].
 */
export const EVAL_SCALES_KEY = 'streetseg_eval_scales';

/** Whether `v` is a usable list of input scales: non-empty, every entry a finite positive number. */
export function isScaleList(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0);
}

/** The checkpoint's evaluation scales ([1] when absent); a malformed value is an error naming the file. */
export function checkpointEvalScales(config: BaseSegConfig, where = 'config.json'): number[] {
  const v = config[EVAL_SCALES_KEY];
  if (v === undefined) return [1];
  if (!isScaleList(v)) throw new TypeError(`${where}: ${EVAL_SCALES_KEY} ${JSON.stringify(v)}: expected a non-empty array of positive numbers`);
  return v;
}

/** Records the scales in a config that will be saved with the weights (none for the plain [1]). */
export function setEvalScales(config: BaseSegConfig, scales: readonly number[]): void {
  if (scales.length === 1 && scales[0] === 1) delete config[EVAL_SCALES_KEY];
  else config[EVAL_SCALES_KEY] = [...scales];
}

/** id2label / label2id for class names in id order. */
export function labelMaps(labels: string[]): Pick<BaseSegConfig, 'id2label' | 'label2id'> {
  if (labels.length === 0) throw new RangeError('labels: expected at least one class name, got []');
  return {
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}

export abstract class SegmentationModel<C extends BaseSegConfig = BaseSegConfig> extends Module {
  abstract readonly config: C;
  abstract readonly family: ModelFamily<C>;
  /** Input size / logits size (the logits are ⌈H/outputStride⌉ × ⌈W/outputStride⌉). */
  abstract readonly outputStride: number;
  /** HF base_model_prefix: the backbone's key prefix ('segformer'). */
  abstract readonly checkpointPrefix: string;
  /** Key prefix of the task head, initialised when a checkpoint lacks it ('decode_head'). */
  abstract readonly headPrefix: string;
  /** Key prefix of the layer with one output per label, re-initialised for another label count. */
  abstract readonly classifierPrefix: string;

  get numLabels(): number {
    return Object.keys(this.config.id2label).length;
  }
  /** Class names in id order. */
  get labels(): string[] {
    return Array.from({ length: this.numLabels }, (_, i) => this.config.id2label[String(i)]!);
  }

  /**
   * Pixel values (N, C, H, W), normalised → logits; with labels (N, H', W') int64 also the loss of the
   * logits upsampled to H'×W' (segmentationLoss; ignoreIndex defaults to the config's).
   */
  forward(pixelValues: Tensor, labels?: Tensor, loss: SegLossOptions = {}): SegmentationOutput {
    const c = this.config.num_channels;
    if (pixelValues.ndim !== 4 || pixelValues.size(1) !== c) {
      throw new RangeError(`${this.family.modelType}: expected pixel values (N, ${c}, H, W), got [${pixelValues.shape}]`);
    }
    const logits = this.logits(pixelValues);
    if (!labels) return { logits };
    if (labels.ndim !== 3 || labels.size(0) !== pixelValues.size(0)) {
      throw new RangeError(`${this.family.modelType}: expected labels (${pixelValues.size(0)}, H, W), got [${labels.shape}]`);
    }
    const ignoreIndex = loss.ignoreIndex ?? this.config.semantic_loss_ignore_index;
    return { logits, loss: segmentationLoss(logits, labels, { ...loss, ignoreIndex }) };
  }

  /** Logits (N, numLabels, ⌈H/outputStride⌉, ⌈W/outputStride⌉) of checked pixel values. */
  protected abstract logits(pixelValues: Tensor): Tensor;

  /**
   * HF _init_weights over root's modules (default: the whole model), the same in every family:
   * Linear/Conv2d N(0, initializer_range) with zero bias, LayerNorm and BatchNorm weight 1 and bias 0.
   */
  initWeights(root: Module = this): void {
    noGrad(() => {
      for (const [, m] of root.modules()) {
        if (m instanceof Linear || m instanceof Conv2d) {
          normal_(m.weight, 0, this.config.initializer_range);
          m.bias?.zero_();
        } else if (m instanceof LayerNorm || m instanceof BatchNorm2d) {
          m.weight?.fill_(1);
          m.bias?.zero_();
        }
      }
    });
  }

  /** The child module at a dotted checkpoint path ('decode_head.classifier'). */
  submodule(name: string): Module {
    for (const [n, m] of this.modules()) if (n === name) return m;
    throw new Error(`${this.family.modelType}: no submodule '${name}'`);
  }
}

/**
 * Adapts a backbone checkpoint (a bare base model, or an image classifier) in place: keys starting with
 * one of `bareBackbone` move under the model's checkpoint prefix; the image-classification head
 * (`classifier.*` keys the model lacks) and keys `alsoDrop` names (by their un-prefixed name) are
 * dropped. Returns the dropped keys and whether the task head is absent.
 */
export function adaptBackboneCheckpoint(
  sd: Map<string, Tensor>,
  model: SegmentationModel,
  bareBackbone: readonly string[],
  alsoDrop: (bareKey: string) => boolean = () => false,
): { dropped: string[]; headMissing: boolean } {
  const prefix = `${model.checkpointPrefix}.`;
  const own = model.stateDict();
  const dropped: string[] = [];
  for (const [k, v] of [...sd]) {
    const bare = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (alsoDrop(bare) || (k.startsWith('classifier.') && !own.has(k))) {
      sd.delete(k);
      v.dispose();
      dropped.push(k);
    } else if (bareBackbone.some((b) => k.startsWith(b))) {
      sd.delete(k);
      sd.set(`${prefix}${k}`, v);
    }
  }
  return { dropped, headMissing: lacksHead(sd, model) };
}

/** True when no key of sd belongs to the model's head. */
export function lacksHead(sd: Map<string, Tensor>, model: SegmentationModel): boolean {
  const p = `${model.headPrefix}.`;
  for (const k of sd.keys()) if (k.startsWith(p)) return false;
  return true;
}
