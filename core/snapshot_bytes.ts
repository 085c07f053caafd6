/**
 * Byte-range helpers for checkpoints: whether a range is all zero, whether two ranges are
 * equal, and filling a range with a repeated 32- or 64-bit pattern. A world holds tens of
 * megabytes of mostly-zero or repeated buffers (register files, GTTs, DMA tables); comparing
 * them natively (`Buffer.compare`, a memcmp) instead of in a JS loop keeps saving, laying and
 * digesting them cheap even in a process whose JIT has not warmed up.
 * @module
 */

import { Buffer } from "node:buffer";
import { isZero } from "./hw/zero.ts";

export { isZero };

/** Bytes written or compared at a time by {@link zeroRange}. */
const ZERO_PIECE = 64 * 1024;

/** Whether `u[a..a+n)` and `u[b..b+n)` hold the same bytes. */
export function sameBytes(u: Uint8Array, a: number, b: number, n: number): boolean {
  return Buffer.compare(u.subarray(a, a + n), u.subarray(b, b + n)) === 0;
}

/** Sets `u[from..to)` to zero, writing only pieces that are not zero already. */
export function zeroRange(u: Uint8Array, from: number, to: number): void {
  // Writing zeros where there are zeros would touch (and so allocate) pages nobody wrote.
  for (let at = from; at < to; at += ZERO_PIECE) {
    const end = Math.min(to, at + ZERO_PIECE);
    if (!isZero(u, at, end)) u.fill(0, at, end);
  }
}

/**
 * Fills `u[at..at+n)` with copies of one little-endian pattern of `step` (4 or 8) bytes, low
 * word `lo`, high word `hi`; `n` is a multiple of `step`. One pattern is written, then the
 * filled part is copied onto the rest, doubling (a native memmove each time).
 */
export function fillPattern(
  u: Uint8Array,
  at: number,
  n: number,
  step: 4 | 8,
  lo: number,
  hi: number,
): void {
  if (n === 0) return;
  const dv = new DataView(u.buffer, u.byteOffset, u.byteLength);
  dv.setUint32(at, lo >>> 0, true);
  if (step === 8) dv.setUint32(at + 4, hi >>> 0, true);
  for (let done = step; done < n; done *= 2) {
    u.copyWithin(at + done, at, at + Math.min(done, n - done));
  }
}

/** Bytes examined with one native compare before looking block by block. */
export const PIECE = 64 * 1024;

/**
 * Words looked at in JS before the native compare with the block before: a block of data
 * almost always differs from it in its first words, and a native call costs more than reading
 * them (`isZero` does the same for zeros).
 */
const PREFIX_WORDS = 16;

/**
 * What a run of {@link forEachBlock} holds: only zero bytes, a repeat of the block before it
 * (each of its blocks the same bytes as the one before: the first `n` of them, for a short
 * last block), or anything else.
 */
export const BlockKind = { Zero: 0, Repeat: 1, Data: 2 } as const;
/** One of {@link BlockKind}. */
export type BlockKind = (typeof BlockKind)[keyof typeof BlockKind];

/**
 * Calls `each(at, n, kind)` for runs of whole blocks of `block` bytes of `u` in order (the
 * last block may be shorter), each run one kind; consecutive runs may have the same kind. A
 * piece of {@link PIECE} bytes (a multiple of `block`) that is all zero, or that repeats the
 * block before it throughout, is one run, recognised with one native compare; the other
 * pieces are looked at block by block (zero first, then the same as the block before), a
 * block's first words in JS before any native compare. The kinds determine the bytes: a
 * digest can mix a kind and a length instead of a zero or repeated run. `block` is a multiple
 * of 4 when `u` is 4-byte aligned.
 */
export function forEachBlock(
  u: Uint8Array,
  block: number,
  each: (at: number, n: number, kind: BlockKind) => void,
): void {
  const piece = Math.max(block, Math.floor(PIECE / block) * block);
  const w = u.byteOffset % 4 === 0 && block % 4 === 0
    ? new Int32Array(u.buffer, u.byteOffset, u.byteLength >> 2)
    : null;
  for (let p = 0; p < u.length; p += piece) {
    const pe = Math.min(u.length, p + piece);
    if (isZero(u, p, pe)) each(p, pe - p, BlockKind.Zero);
    else if (p > 0 && startsRepeat(w, p, pe, block) && sameBytes(u, p - block, p, pe - p)) {
      each(p, pe - p, BlockKind.Repeat);
    } else {
      for (let at = p; at < pe; at += block) {
        const n = Math.min(block, pe - at);
        if (isZero(u, at, at + n)) each(at, n, BlockKind.Zero);
        else if (at > 0 && startsRepeat(w, at, at + n, block) && sameBytes(u, at - block, at, n)) {
          each(at, n, BlockKind.Repeat);
        } else each(at, n, BlockKind.Data);
      }
    }
  }
}

/**
 * Whether the first words of `[at, end)` equal those `block` bytes before (true when it cannot
 * tell: the native compare decides).
 */
function startsRepeat(w: Int32Array | null, at: number, end: number, block: number): boolean {
  if (w === null) return true;
  const back = block >> 2, last = Math.min(end >> 2, (at >> 2) + PREFIX_WORDS);
  for (let i = at >> 2; i < last; i++) if (w[i] !== w[i - back]) return false;
  return true;
}
