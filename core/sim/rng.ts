/**
 * Seeded pseudo-random numbers with independent named streams.
 *
 * Algorithm: each stream is an xoshiro128** generator (Blackman & Vigna), 32-bit
 * arithmetic only, so results are identical on every JS engine. A stream's 128-bit state is
 * derived from (seed, name): the name is hashed with FNV-1a (32-bit), mixed with the seed,
 * and expanded with SplitMix32. Streams never share state, so adding a VM (a new stream
 * name) never changes the draws of another VM's stream.
 */

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** One xoshiro128** stream. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the stream from a 32-bit seed and a stream name. */
  constructor(seed: number, name = "") {
    const st = { s: (fnv1a(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Exponentially distributed value with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Normally distributed value (Box-Muller, one draw of two uniforms). */
  normal(mean: number, stddev: number): number {
    const u = 1 - this.next();
    const v = this.next();
    return mean + stddev * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Captures the generator state (for snapshots). */
  save(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  /** Restores a state captured by {@link Rng.save}. */
  restore(s: readonly number[]): void {
    [this.a, this.b, this.c, this.d] = s as [number, number, number, number];
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The set of named streams of one run. */
export class Streams {
  private readonly byName = new Map<string, Rng>();

  /** @param seed the run's seed */
  /** Creates the set; streams appear on first use. */
  constructor(readonly seed: number) {}

  /** The stream called `name`, created on first use. */
  stream(name: string): Rng {
    let r = this.byName.get(name);
    if (!r) {
      r = new Rng(this.seed, name);
      this.byName.set(name, r);
    }
    return r;
  }

  /** All streams' states by name (for snapshots). */
  save(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [k, v] of [...this.byName].sort((x, y) => x[0] < y[0] ? -1 : 1)) out[k] = v.save();
    return out;
  }

  /** Restores states captured by {@link Streams.save}. */
  restore(saved: Record<string, number[]>): void {
    for (const [k, v] of Object.entries(saved)) this.stream(k).restore(v);
  }
}
