// Hand-made augmentation samples shared by the augmentation tests: every pixel distinct, a textured block
// scene, and pixel/label readers.
import { pipeline, type hflip, type Sample } from '../../src/data/augment/index.js';
import { rng } from '../../src/util/random.js';

export const IGNORE = 255;

export function makeSample(w: number, h: number, img: (x: number, y: number) => [number, number, number], lab: (x: number, y: number) => number): Sample {
  const image = new Uint8Array(w * h * 3);
  const label = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const [r, g, b] = img(x, y);
      image[i * 3] = r;
      image[i * 3 + 1] = g;
      image[i * 3 + 2] = b;
      label[i] = lab(x, y);
    }
  }
  return { image, label, width: w, height: h };
}

/** Every pixel distinct: r = x, g = y, b = (7x + 13y) mod 256; label = (x + 3y) mod 11. */
export function coordSample(w: number, h: number): Sample {
  return makeSample(w, h, (x, y) => [x, y, (7 * x + 13 * y) % 256], (x, y) => (x + 3 * y) % 11);
}

export function px(s: Sample, x: number, y: number): [number, number, number] {
  const i = (y * s.width + x) * 3;
  return [s.image[i]!, s.image[i + 1]!, s.image[i + 2]!];
}
export function lb(s: Sample, x: number, y: number): number {
  return s.label[y * s.width + x]!;
}

/** Random-looking texture and a block label map with classes 0..5. */
export function sceneSample(w: number, h: number, seed = 1): Sample {
  const r = rng(seed);
  return makeSample(
    w,
    h,
    (x, y) => [(x * 5 + r.int(40)) % 256, (y * 3 + r.int(40)) % 256, ((x + y) * 2 + r.int(40)) % 256],
    (x, y) => (Math.floor(x / (w / 3)) + 3 * Math.floor(y / (h / 2))) % 6,
  );
}

export function labelSet(s: Sample): Set<number> {
  return new Set(s.label);
}

export const CTX = { ignoreIndex: IGNORE, fill: 0 };

export function run1(spec: ReturnType<typeof hflip>, s: Sample, seed = 0): Sample {
  return pipeline(spec, CTX).apply(s, seed, 0, 0);
}
