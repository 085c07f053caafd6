/**
 * SHA-256 for checkpoints (node:crypto), in one place. The CLI imports the checkpoint modules
 * only when a command reads or writes a checkpoint (cli/run.ts, the REPL), so a plain run does
 * not load node:crypto. (Loading it on first use through `process.getBuiltinModule` instead
 * cost a cold process ~17 ms more: that getter loads node:module.)
 * @module
 */

import { createHash } from "node:crypto";

/** An incremental SHA-256 (the part of node:crypto's `Hash` used here). */
export interface Sha256 {
  /** Adds bytes (or a string's UTF-8). */
  update(data: Uint8Array | string): Sha256;
  /** The digest as 64 hex digits (the hash cannot be used after). */
  digest(encoding: "hex"): string;
}

/** A new SHA-256. */
export function sha256(): Sha256 {
  return createHash("sha256");
}

/** The SHA-256 of bytes (or a string's UTF-8) as 64 hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
