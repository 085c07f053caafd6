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

/** Whether `u[from..to)` are all zero. */
export function isZero(u: Uint8Array, from = 0, to = u.length): boolean {
  for (let at = from; at < to; at += ZEROS.length) {
    const end = Math.min(to, at + ZEROS.length);
    if (Buffer.compare(u.subarray(at, end), ZEROS.subarray(0, end - at)) !== 0) return false;
  }
  return true;
}
