/**
 * The bounds every scenario is held to, checked before the parser sees it, so no input can
 * exhaust memory, overflow the stack or make gvtsim read what is not a scenario:
 *
 * - a file is at most {@link MAX_FILE_BYTES}, all files of a scenario at most
 *   {@link MAX_TOTAL_BYTES};
 * - files are read only if they are regular files; an included file must be a `.gvt` file
 *   (so `include "/etc/passwd"` is refused before anything is read or echoed);
 * - brackets (and runs of unary minus) nest at most {@link MAX_NESTING} deep, and one statement
 *   holds at most {@link MAX_OPERATORS} arithmetic operators (each adds a level to the
 *   expression tree the checker walks); either is a located error.
 * @module
 */

import type { IToken } from "chevrotain";
import type { Diagnostic } from "./diagnostics.ts";
import * as T from "./lexer.ts";

/** Largest scenario file (bytes). */
export const MAX_FILE_BYTES = 256 * 1024;
/** Largest scenario with all its includes (bytes). */
export const MAX_TOTAL_BYTES = 1024 * 1024;
/** Deepest nesting of `{ ( [` and unary `-`. */
export const MAX_NESTING = 64;
/** Most arithmetic operators in one statement. */
export const MAX_OPERATORS = 64;

/** Something read synchronously a chunk at a time (a file, standard input). */
export interface SyncReader {
  /** Reads into `buf`; the byte count, or null / 0 at the end. */
  readSync(buf: Uint8Array): number | null;
}

/**
 * Reads `r` to its end as UTF-8 text, never more than one byte past `limit` (a size from
 * stat can be wrong: /proc files say 0, /dev/zero never ends). Throws an Error naming `what`
 * when the input is larger.
 */
export function readBounded(r: SyncReader, limit: number, what: string): string {
  const chunks: Uint8Array[] = [];
  let n = 0;
  while (n <= limit) {
    const buf = new Uint8Array(Math.min(64 * 1024, limit + 1 - n));
    const got = r.readSync(buf);
    if (got === null || got === 0) break;
    chunks.push(buf.subarray(0, got));
    n += got;
  }
  if (n > limit) throw new Error(`larger than ${limit / 1024} KiB, the limit of ${what}`);
  const all = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * Reads a regular file (not a directory, device or pipe) of at most `limit` bytes with
 * {@link readBounded}; throws an Error with a one-line reason otherwise.
 */
export function readBoundedFile(path: string, limit: number, what: string): string {
  const st = Deno.statSync(path);
  if (!st.isFile) throw new Error("not a regular file");
  using f = Deno.openSync(path);
  return readBounded(f, limit, what);
}

/** What the scenario size limit is called in messages. */
export const SCENARIO_FILE = "a scenario file";

/**
 * Reads a scenario file from disk: a regular file of at most {@link MAX_FILE_BYTES}; with
 * `include`, also a `.gvt` file. Throws an Error with a one-line reason otherwise.
 */
export function readScenarioFile(path: string, o: { include?: boolean } = {}): string {
  if (o.include && !path.endsWith(".gvt")) {
    throw new Error("only .gvt scenario files can be included");
  }
  return readBoundedFile(path, MAX_FILE_BYTES, SCENARIO_FILE);
}

/** A diagnostic at the start of `file` when `text` is too large, else undefined. */
export function sizeProblem(file: string, text: string, total: number): Diagnostic | undefined {
  const at = { file, line: 1, col: 1, len: 1, severity: "error" as const };
  if (text.length > MAX_FILE_BYTES) {
    return {
      ...at,
      message: `file larger than ${MAX_FILE_BYTES} bytes, the limit of a scenario file`,
    };
  }
  if (total > MAX_TOTAL_BYTES) {
    return {
      ...at,
      message: `the scenario and its includes exceed ${MAX_TOTAL_BYTES} bytes`,
    };
  }
  return undefined;
}

const OPEN = new Set<unknown>([T.LCurly, T.LParen, T.LBracket]);
const CLOSE = new Set<unknown>([T.RCurly, T.RParen, T.RBracket]);
const OPERATORS = new Set<unknown>([T.Plus, T.Minus, T.Star, T.Slash]);

/**
 * One linear pass over the tokens: the first place where nesting exceeds {@link MAX_NESTING}
 * or a statement exceeds {@link MAX_OPERATORS} operators, as a located error.
 */
export function nestingProblem(tokens: readonly IToken[], file: string): Diagnostic | undefined {
  let depth = 0, minusRun = 0, ops = 0;
  for (const t of tokens) {
    const type = t.tokenType;
    if (OPEN.has(type)) depth++;
    else if (CLOSE.has(type)) depth = Math.max(0, depth - 1);
    minusRun = type === T.Minus ? minusRun + 1 : 0;
    if (type === T.Newline || type === T.Semi || OPEN.has(type) || CLOSE.has(type)) ops = 0;
    else if (OPERATORS.has(type)) ops++;
    if (depth + minusRun > MAX_NESTING) {
      return located(t, file, `nesting deeper than ${MAX_NESTING} levels`);
    }
    if (ops > MAX_OPERATORS) {
      return located(t, file, `more than ${MAX_OPERATORS} operators in one statement`);
    }
  }
  return undefined;
}

function located(t: IToken, file: string, message: string): Diagnostic {
  const len = Math.max(1, t.image.length);
  return { file, line: t.startLine ?? 1, col: t.startColumn ?? 1, len, severity: "error", message };
}
