/**
 * Reading scenario sources: a path, or `-` for standard input (read once, so a scenario given
 * on stdin can be loaded several times, as `compare` does).
 * @module
 */

import { MAX_FILE_BYTES, readBounded, readScenarioFile, SCENARIO_FILE } from "./limits.ts";

/** The path that means standard input. */
export const STDIN_PATH = "-";

let stdinText: string | undefined;

/** All of standard input, read synchronously the first time and remembered. */
function readStdinSync(): string {
  stdinText ??= readBounded(Deno.stdin, MAX_FILE_BYTES, SCENARIO_FILE);
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
