/**
 * Diagnostics: located messages, and their rendering as
 * `file:line:col: error: message`, the source line, and a caret under the column.
 */

/** One problem found in a scenario. */
export interface Diagnostic {
  /** File as given by the user. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** Length of the offending text (>= 1), for the `^~~~` underline. */
  len: number;
  /** Severity; every error makes `check` fail. */
  severity: "error" | "warning";
  /** What went wrong, including what was expected. */
  message: string;
  /** Optional extra line (a hint or the numbers behind a decision). */
  note?: string;
}

/** Options for {@link formatDiagnostics}. */
export interface FormatOptions {
  /** ANSI colours (default false). */
  color?: boolean;
}

/**
 * Characters a terminal would act on (C0/C1 controls, DEL), or that reorder or break what it
 * shows (bidi overrides and isolates, line and paragraph separators), except tab.
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with terminal control characters shown as escapes (`\x1b`, `\u{202e}`). */
export function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
  });
}

/** Longest source excerpt shown (characters); longer lines show a window around the column. */
const EXCERPT = 160;

const RED = "\x1b[1;31m";
const YEL = "\x1b[1;33m";
const BOLD = "\x1b[1m";
const CYAN = "\x1b[36m";
const OFF = "\x1b[0m";

/**
 * Renders diagnostics the way compilers do:
 * ```
 * demo.gvt:3:29: error: unknown workload 'gam'; expected one of: game, transcode
 *     3 | vm desktop { type V5_4; run gam }
 *       |                             ^~~
 * ```
 * Lines that cannot be found in `sources` are rendered without the excerpt.
 */
export function formatDiagnostics(
  diags: readonly Diagnostic[],
  sources: ReadonlyMap<string, string>,
  opts: FormatOptions = {},
): string {
  const c = opts.color === true;
  const lineCache = new Map<string, string[]>();
  const out: string[] = [];
  for (const d of diags) {
    const sev = d.severity === "error"
      ? (c ? RED + "error" + OFF : "error")
      : (c ? YEL + "warning" + OFF : "warning");
    const head = `${escapeControls(d.file)}:${d.line}:${d.col}:`;
    out.push(`${c ? BOLD + head + OFF : head} ${sev}: ${escapeControls(d.message)}`);
    const src = sources.get(d.file);
    if (src !== undefined) {
      let lines = lineCache.get(d.file);
      if (!lines) {
        lines = src.split("\n");
        lineCache.set(d.file, lines);
      }
      let raw = (lines[d.line - 1] ?? "").replace(/\r$/, "").replace(/\t/g, " ");
      let col = d.col;
      if (raw.length > EXCERPT) {
        // a long line is shown as a window around the column
        const from = Math.max(0, Math.min(col - 1 - EXCERPT / 2, raw.length - EXCERPT));
        raw = (from > 0 ? "..." : "") + raw.slice(from, from + EXCERPT) +
          (from + EXCERPT < raw.length ? "..." : "");
        col = col - from + (from > 0 ? 3 : 0);
      }
      const text = escapeControls(raw);
      // columns count the raw line; the caret goes under the escaped text
      const before = escapeControls(raw.slice(0, col - 1)).length;
      const under = escapeControls(raw.slice(col - 1, col - 1 + d.len)).length;
      const num = String(d.line);
      const pad = " ".repeat(Math.max(4, num.length));
      const underline = "^" + "~".repeat(Math.max(0, Math.min(under, text.length - before) - 1));
      out.push(`${num.padStart(pad.length)} | ${text}`);
      const caret = " ".repeat(Math.max(0, before)) + underline;
      out.push(`${pad} | ${c ? CYAN + caret + OFF : caret}`);
    }
    if (d.note) out.push(`${" ".repeat(4)} = note: ${escapeControls(d.note)}`);
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/** Sorts diagnostics by file (in the given order), line and column; stable otherwise. */
export function sortDiagnostics(diags: Diagnostic[], fileOrder: readonly string[]): Diagnostic[] {
  const rank = (f: string) => {
    const i = fileOrder.indexOf(f);
    return i < 0 ? fileOrder.length : i;
  };
  return diags
    .map((d, i) => ({ d, i }))
    .sort((x, y) =>
      rank(x.d.file) - rank(y.d.file) || x.d.line - y.d.line || x.d.col - y.d.col ||
      x.i - y.i
    )
    .map((x) => x.d);
}

/** Count of error-severity diagnostics. */
export function errorCount(diags: readonly Diagnostic[]): number {
  let n = 0;
  for (const d of diags) if (d.severity === "error") n++;
  return n;
}
