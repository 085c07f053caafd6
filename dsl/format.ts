/**
 * The scenario formatter (`gvtsim fmt`): re-indents by block depth (2 spaces), puts one space
 * between words and around braces and comparisons, none inside parentheses or before `,` `;` `:`,
 * drops redundant `;`, keeps at most one blank line, aligns the `{` of consecutive one-line
 * `vm`/`workload`/`type` declarations and the trailing comments of consecutive lines (3 spaces
 * after the longest code). Line
 * breaks and every comment are kept, so it never changes what a file means; it is idempotent.
 * It works on the token stream and refuses text with syntax errors.
 * @module
 */

import type { IToken } from "chevrotain";
import { scenarioLexer } from "./lexer.ts";
import { type Diagnostic, parseFile } from "./mod.ts";

interface Line {
  /** Block depth of the line. */
  depth: number;
  /** The code, spaced (no indentation, no comment). */
  code: string;
  /** The trailing or whole-line comment. */
  comment?: string;
  /** For alignment: the declaration head (`vm game`) when the line is a one-line declaration. */
  head?: string;
}

const NO_SPACE_BEFORE = new Set(["Comma", "Semi", "RParen", "RBracket", "Colon"]);
const NO_SPACE_AFTER = new Set(["LParen", "LBracket"]);
const OPERATORS = new Set(["Ge", "Le", "EqEq", "Ne", "Gt", "Lt"]);
/** Spaces between code and a trailing comment. */
const COMMENT_GAP = 3;

function kind(t: IToken | undefined): string {
  return t?.tokenType.name ?? "";
}

/** The text between two tokens of one line. */
function gap(prev: IToken, cur: IToken): string {
  const p = kind(prev);
  const c = kind(cur);
  if (p === "LCurly") return c === "RCurly" ? "" : " ";
  if (c === "RCurly") return " ";
  if (c === "LCurly") return " ";
  if (NO_SPACE_BEFORE.has(c)) return "";
  if (p === "DotDot" || c === "DotDot") return ""; // a window, `2s..6s`
  if (NO_SPACE_AFTER.has(p)) return "";
  if (OPERATORS.has(p) || OPERATORS.has(c)) return " ";
  if (p === "Comma" || p === "Semi" || p === "Colon") return " ";
  // a call `fps(` and a VM count `vm w[4]` stay attached to their name
  if ((c === "LParen" || c === "LBracket") && /^[A-Za-z_]/.test(prev.image)) return "";
  // otherwise keep whether there was space (unary minus `-5` vs `a - b`)
  const apart = (cur.startOffset ?? 0) > (prev.endOffset ?? 0) + 1;
  return apart ? " " : "";
}

/** A redundant `;`: at the start or end of a line or block, or after another `;`. */
function redundantSemi(kept: IToken[], next: IToken | undefined): boolean {
  const before = kind(kept[kept.length - 1]);
  const after = kind(next);
  return before === "" || before === "LCurly" || before === "Semi" ||
    after === "" || after === "Newline" || after === "RCurly";
}

function lines(text: string): Line[] {
  const lex = scenarioLexer.tokenize(text);
  const code = lex.tokens;
  const comments = lex.groups.comments ?? [];
  const out: Line[] = [];
  let depth = 0;
  let cur: IToken[] = [];
  let comment: IToken | undefined;
  let ci = 0;
  const flush = () => {
    const first = kind(cur[0]);
    const d = first === "RCurly" ? Math.max(0, depth - countClosing(cur)) : depth;
    let s = "";
    for (let i = 0; i < cur.length; i++) s += (i > 0 ? gap(cur[i - 1], cur[i]) : "") + cur[i].image;
    for (const t of cur) {
      if (kind(t) === "LCurly") depth++;
      else if (kind(t) === "RCurly") depth = Math.max(0, depth - 1);
    }
    out.push({
      depth: d,
      code: s,
      comment: comment?.image.trimEnd(),
      head: declarationHead(cur),
    });
    cur = [];
    comment = undefined;
  };
  for (let i = 0; i <= code.length; i++) {
    const t = code[i];
    // comments that start before this token belong to the current line
    while (ci < comments.length && (t === undefined || comments[ci].startOffset < t.startOffset)) {
      comment = comments[ci++];
    }
    if (t === undefined) break;
    if (kind(t) === "Newline") {
      flush();
      continue;
    }
    if (kind(t) === "Semi" && redundantSemi(cur, code[i + 1])) continue;
    cur.push(t);
  }
  if (cur.length > 0 || comment) flush();
  return out;
}

/** How many `}` open a line (they all dedent it). */
function countClosing(toks: IToken[]): number {
  let n = 0;
  while (kind(toks[n]) === "RCurly") n++;
  return n;
}

/** `vm NAME[N]`, `workload NAME` or `type NAME` when the line is that whole declaration. */
function declarationHead(toks: IToken[]): string | undefined {
  const kw = toks[0]?.image;
  if (kw !== "vm" && kw !== "workload" && kw !== "type") return undefined;
  const open = toks.findIndex((t) => kind(t) === "LCurly");
  if (open < 2 || kind(toks[toks.length - 1]) !== "RCurly") return undefined;
  let depth = 0;
  for (let i = open; i < toks.length; i++) {
    if (kind(toks[i]) === "LCurly") depth++;
    else if (kind(toks[i]) === "RCurly" && --depth === 0 && i !== toks.length - 1) {
      return undefined;
    }
  }
  let head = toks[0].image + " " + toks[1].image;
  for (let i = 2; i < open; i++) head += toks[i].image;
  return head;
}

/** Pads the heads of consecutive one-line declarations of the same kind so their `{` align. */
function alignHeads(ls: Line[]): void {
  for (let i = 0; i < ls.length;) {
    const kw = ls[i].head?.split(" ")[0];
    let j = i;
    while (j < ls.length && kw && ls[j].head?.split(" ")[0] === kw && ls[j].depth === ls[i].depth) {
      j++;
    }
    if (j - i > 1) {
      const width = Math.max(...ls.slice(i, j).map((l) => l.head!.length));
      for (const l of ls.slice(i, j)) {
        l.code = l.head!.padEnd(width) + l.code.slice(l.head!.length);
      }
    }
    i = Math.max(j, i + 1);
  }
}

/** Aligns the comments of consecutive lines that end in one, 3 spaces after the longest code. */
function alignComments(ls: Line[]): void {
  const trailing = (l: Line) => l.comment !== undefined && l.code !== "";
  for (let i = 0; i < ls.length;) {
    if (!trailing(ls[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j < ls.length && trailing(ls[j])) j++;
    const run = ls.slice(i, j);
    const col = Math.max(...run.map((l) => 2 * l.depth + l.code.length + COMMENT_GAP));
    for (const l of run) l.code = l.code.padEnd(col - 2 * l.depth);
    i = j;
  }
}

/** Formats a scenario; `diagnostics` holds its syntax errors and `text` is undefined then. */
export function formatScenario(
  text: string,
  file: string,
): { text?: string; diagnostics: Diagnostic[] } {
  const { diagnostics } = parseFile(text, file);
  if (diagnostics.length > 0) return { diagnostics };
  const ls = lines(text);
  alignHeads(ls);
  alignComments(ls);
  const out: string[] = [];
  for (const l of ls) {
    const body = (l.code + (l.comment ?? "")).trimEnd();
    const lineText = body === "" ? "" : "  ".repeat(l.depth) + body;
    if (lineText === "" && (out.length === 0 || out[out.length - 1] === "")) continue;
    out.push(lineText);
  }
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return { text: out.length === 0 ? "" : out.join("\n") + "\n", diagnostics: [] };
}
