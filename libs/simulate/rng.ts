/**
 * A small seedable PRNG (xoshiro128**, seeded through a splitmix32/murmur3 finaliser). The simulator never
 * touches Math.random or the clock: the same seed must give byte-identical logs on every machine and Node
 * version, and independent streams per user keep one user's behaviour unchanged when others change.
 */

// Globals are read once into module constants: inside a vm context (Jest runs every test file in one)
// each global lookup goes through an interceptor, which made the hot paths several times slower.
const { PI, cos, floor, imul, log, sqrt } = Math;

function fmix32(h: number): number {
  h = imul(h ^ (h >>> 16), 0x85ebca6b);
  h = imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hashes a seed (any safe integer, including ones above 2^32) and stream coordinates into 32 bits. */
function mixSeed(seed: number, parts: readonly number[]): number {
  const lo = seed >>> 0;
  const hi = floor(seed / 4294967296) >>> 0;
  let h = fmix32(lo ^ 0x9e3779b9);
  h = fmix32(h ^ imul(hi, 0x85ebca6b) ^ 0x27d4eb2f);
  for (const p of parts) h = fmix32((h + imul(p >>> 0, 0xcc9e2d51) + 0x165667b1) >>> 0);
  return h;
}

export class Rng {
  // Typed storage keeps the state as raw int32: as object fields, values above 2^30 would be boxed.
  private readonly s = new Int32Array(4);

  /** `parts` name an independent stream (e.g. [STREAM_USER, userIndex]). */
  constructor(seed: number, ...parts: number[]) {
    let x = mixSeed(seed, parts);
    const st = this.s;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      st[i] = fmix32(x);
    }
    // xoshiro's only bad state is all zeros.
    if ((st[0]! | st[1]! | st[2]! | st[3]!) === 0) st[0] = 1;
  }

  u32(): number {
    const st = this.s;
    const a = st[0]!;
    const b = st[1]!;
    const c = st[2]! ^ a;
    const d = st[3]! ^ b;
    const result = imul(rotl(imul(b, 5), 7), 9) >>> 0;
    st[1] = b ^ c;
    st[0] = a ^ d;
    st[2] = c ^ (b << 9);
    st[3] = rotl(d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[floor(this.float() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** Exponential with the given mean: inter-arrival times of a Poisson process. */
  exp(mean: number): number {
    return -mean * log(1 - this.float());
  }

  /** Standard normal (Box-Muller; the second value is dropped to keep the stream simple). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return sqrt(-2 * log(u)) * cos(2 * PI * v);
  }

  /** Index into `weights` chosen with probability proportional to its weight. */
  weighted(weights: readonly number[], total: number): number {
    let x = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i] ?? 0;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
