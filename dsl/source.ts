/**
 * Reading scenario sources: a path, or `-` for standard input (read once, so a scenario given
 * on stdin can be loaded several times, as `compare` does).
 * @module
 */

import { MAX_FILE_BYTES, readScenarioFile } from "./limits.ts";

/** The path that means standard input. */
export const STDIN_PATH = "-";

let stdinText: string | undefined;

/** All of standard input, read synchronously the first time and remembered. */
function readStdinSync(): string {
  if (stdinText !== undefined) return stdinText;
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (let total = 0;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
    total += n;
    if (total > MAX_FILE_BYTES) {
      throw new Error(`larger than ${MAX_FILE_BYTES / 1024} KiB, the limit of a scenario file`);
    }
  }
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  stdinText = new TextDecoder().decode(all);
  return stdinText;
}

/**
 * Reads a scenario source: `-` is standard input, anything else a file through
 * {@link readScenarioFile} (regular files within the size limit; `.gvt` files only with
 * `include`). Standard input is bounded the same way.
 */
export function readSource(path: string, o: { include?: boolean } = {}): string {
  return path === STDIN_PATH && !o.include ? readStdinSync() : readScenarioFile(path, o);
}
