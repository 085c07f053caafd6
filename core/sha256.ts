/**
 * SHA-256 (node:crypto), loaded on first use: node:crypto costs a process ~15-40 ms to load,
 * which a run that never reads or writes a checkpoint should not pay. `process.getBuiltinModule`
 * loads it synchronously, so the checkpoint code that hashes can stay synchronous.
 * @module
 */

import process from "node:process";

/** An incremental SHA-256 (the part of node:crypto's `Hash` used here). */
export interface Sha256 {
  /** Adds bytes (or a string's UTF-8). */
  update(data: Uint8Array | string): Sha256;
  /** The digest as 64 hex digits (the hash cannot be used after). */
  digest(encoding: "hex"): string;
}

/** What `process.getBuiltinModule("node:crypto")` gives, the part used here. */
interface CryptoModule {
  createHash(algorithm: "sha256"): Sha256;
}

let crypto: CryptoModule | undefined;

/** A new SHA-256; the first call loads node:crypto. */
export function sha256(): Sha256 {
  crypto ??= (process as unknown as { getBuiltinModule(id: string): CryptoModule })
    .getBuiltinModule("node:crypto");
  return crypto.createHash("sha256");
}

/** The SHA-256 of bytes (or a string's UTF-8) as 64 hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  return sha256().update(data).digest("hex");
}
