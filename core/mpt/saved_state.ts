/**
 * Helpers for backends' `save` / `restore` (snapshots) and their trap paths: sparse byte maps
 * and lazy per-frame arrays as (index, value) pairs, and typed field readers that reject a malformed saved state with a
 * message naming the field. Shared by the built-in backends; third-party ones may use them.
 * @module
 */

import type { LazyInt32Array } from "../hw/lazy_array.ts";

/** Non-zero bytes of `u` as flat (index, value) pairs (a snapshot of a sparse byte map). */
export function sparseBytes(u: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < u.length; i++) if (u[i] !== 0) out.push(i, u[i]);
  return out;
}

/** Writes pairs from {@link sparseBytes} back into a zeroed `u`. */
export function loadSparseBytes(u: Uint8Array, pairs: unknown, what: string): void {
  if (!Array.isArray(pairs) || pairs.length % 2 !== 0) throw new Error(`bad ${what}`);
  u.fill(0);
  for (let i = 0; i < pairs.length; i += 2) {
    const at = pairs[i], v = pairs[i + 1];
    if (!Number.isInteger(at) || at < 0 || at >= u.length || !Number.isInteger(v)) {
      throw new Error(`bad ${what}`);
    }
    u[at] = v;
  }
}

/**
 * A lazy per-frame array as `[index, value, ...]` pairs of its non-zero entries, in index order
 * (the same format as {@link sparseBytes}, without a pass over every frame).
 */
export function sparseFrames(a: LazyInt32Array): number[] {
  const out: number[] = [];
  a.forEachSet((i, v) => void out.push(i, v));
  return out;
}

/** Writes pairs from {@link sparseFrames} (or {@link sparseBytes}) back into `a`, cleared first. */
export function loadSparseFrames(a: LazyInt32Array, pairs: unknown, what: string): void {
  if (!Array.isArray(pairs) || pairs.length % 2 !== 0) throw new Error(`bad ${what}`);
  a.clear();
  for (let i = 0; i < pairs.length; i += 2) {
    const at = pairs[i], v = pairs[i + 1];
    if (!Number.isInteger(at) || at < 0 || at >= a.length || !Number.isInteger(v)) {
      throw new Error(`bad ${what}`);
    }
    a.set(at, v);
  }
}

/**
 * The position of each item in `xs` (its first, as `indexOf` gives): for saving references
 * between two collections as indices without a quadratic search.
 */
export function positions<T>(xs: Iterable<T>): Map<T, number> {
  const out = new Map<T, number>();
  let i = 0;
  for (const x of xs) {
    if (!out.has(x)) out.set(x, i);
    i++;
  }
  return out;
}

/** The tag of {@link packNumbers}'s text: whole numbers in `[0, 2^32)` take 4 bytes each. */
const U32 = "u32:", F64 = "f64:";

/**
 * Numbers as compact text for a saved state (thousands of them read as one string, not as a
 * JSON array): `u32:` and the base64 of their little-endian `Uint32Array` when every one is a
 * whole number in `[0, 2^32)`, else `f64:` and the base64 of their `Float64Array`.
 */
export function packNumbers(xs: Float64Array): string {
  let small = true;
  for (let i = 0; i < xs.length && small; i++) {
    const x = xs[i];
    small = x >= 0 && x < 4294967296 && Math.floor(x) === x && (x !== 0 || 1 / x > 0); // not -0
  }
  const a = small ? new Uint32Array(xs) : xs;
  return (small ? U32 : F64) + new Uint8Array(a.buffer, a.byteOffset, a.byteLength).toBase64();
}

/**
 * Field `k` of a saved state as numbers from {@link packNumbers}, a whole number of groups of
 * `group`, all finite (throws for anything else).
 */
export function unpackNumbers(
  s: Record<string, unknown>,
  k: string,
  group: number,
): Float64Array | Uint32Array {
  const v = s[k];
  const bad = () => new Error(`saved ${k} is malformed`);
  if (typeof v !== "string" || (!v.startsWith(U32) && !v.startsWith(F64)) || group < 1) {
    throw bad();
  }
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(v.slice(4));
  } catch {
    throw bad();
  }
  const size = v.startsWith(U32) ? 4 : 8;
  if (bytes.length % (size * group) !== 0) throw bad();
  if (size === 4) return new Uint32Array(bytes.buffer as ArrayBuffer);
  const xs = new Float64Array(bytes.buffer as ArrayBuffer);
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i])) throw bad();
  return xs;
}

/** A saved state as a record (throws for anything else). */
export function record(state: unknown): Record<string, unknown> {
  if (typeof state !== "object" || state === null || Array.isArray(state)) {
    throw new Error("saved state is not an object");
  }
  return state as Record<string, unknown>;
}

/** A finite number field of a saved state. */
export function num(s: Record<string, unknown>, k: string): number {
  const v = s[k];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`saved ${k} is not a number`);
  return v;
}

/** A boolean field of a saved state. */
export function bool(s: Record<string, unknown>, k: string): boolean {
  const v = s[k];
  if (typeof v !== "boolean") throw new Error(`saved ${k} is not a boolean`);
  return v;
}

/** An array-of-number-arrays field of a saved state. */
export function rows(s: Record<string, unknown>, k: string, width: number): number[][] {
  const v = s[k];
  const bad = () => new Error(`saved ${k} is malformed`);
  if (!Array.isArray(v)) throw bad();
  // plain loops: a restore checks thousands of rows once, before the JIT has warmed up
  for (let i = 0; i < v.length; i++) {
    const r = v[i];
    if (!Array.isArray(r) || r.length !== width) throw bad();
    for (let j = 0; j < width; j++) if (!Number.isFinite(r[j])) throw bad();
  }
  return v as number[][];
}

/** All ones in `size` bytes: what a read of an unclaimed bus address returns. */
export function allOnes(size: number): number {
  return size >= 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * Math.max(0, size)) - 1;
}
