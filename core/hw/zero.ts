/**
 * Whether a byte range is all zero, compared natively (`Buffer.compare`, a memcmp) a piece at
 * a time: much cheaper than a JS loop, above all in a process whose JIT has not warmed up
 * (world creation, a first sweep, a checkpoint). Register files, GTTs and DMA tables are
 * large and mostly zero.
 * @module
 */

import { Buffer } from "node:buffer";

/** Zero bytes compared against, a piece at a time. */
const ZEROS = new Uint8Array(64 * 1024);

/**
 * Bytes looked at in JS before any native compare: data almost always has a non-zero byte
 * there, and finding it costs less than a native call.
 */
const HEAD = 64;

/** Whether `u[from..to)` are all zero. */
export function isZero(u: Uint8Array, from = 0, to = u.length): boolean {
  const head = Math.min(to, from + HEAD);
  for (let i = from; i < head; i++) if (u[i] !== 0) return false;
  for (let at = head; at < to; at += ZEROS.length) {
    const end = Math.min(to, at + ZEROS.length);
    if (Buffer.compare(u.subarray(at, end), ZEROS.subarray(0, end - at)) !== 0) return false;
  }
  return true;
}
