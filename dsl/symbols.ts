/**
 * What a scenario declares and where, for editors: VMs (with `vm w[3]` expanded to w1..w3),
 * workloads, types and named hosts across a file and its includes, the extent of each top-level item, and
 * the word under a position. Syntax only: it works on files that do not check yet.
 * @module
 */

import type { IToken } from "chevrotain";
import type { ItemAst, Span } from "./ast.ts";
import { scenarioLexer } from "./lexer.ts";
import { parseFile, resolveInclude } from "./mod.ts";

/** One declared name. */
export interface Declaration {
  /** The name as used elsewhere (`worker2` for the second of `vm worker[4]`). */
  name: string;
  /** What it is. */
  kind: "vm" | "workload" | "type" | "host";
  /** Where its name is written. */
  span: Span;
  /** The declaring item. */
  item: ItemAst;
}

/** The declarations of a file and of the files it includes (each once). */
export function declarations(
  file: string,
  text: string,
  readFile: (path: string) => string,
): Declaration[] {
  const out: Declaration[] = [];
  const done = new Set<string>([file]);
  const visit = (path: string, src: string) => {
    for (const it of parseFile(src, path).ast.items) {
      if (it.k === "include") {
        const target = resolveInclude(path, it.path);
        if (done.has(target)) continue;
        done.add(target);
        let inc: string;
        try {
          inc = readFile(target);
        } catch {
          continue; // the checker reports unreadable includes
        }
        visit(target, inc);
      } else if (it.k === "vm") {
        const n = it.count ? Math.floor(it.count.value) : 0;
        if (it.count && n >= 1 && n <= 64) {
          for (let i = 1; i <= n; i++) {
            out.push({ name: it.name + i, kind: "vm", span: it.span, item: it });
          }
        }
        out.push({ name: it.name, kind: "vm", span: it.span, item: it });
      } else if (it.k === "workload" || it.k === "type") {
        out.push({ name: it.name, kind: it.k, span: it.span, item: it });
      } else if (it.k === "host" && it.name !== undefined) {
        out.push({ name: it.name, kind: "host", span: it.nameSpan ?? it.span, item: it });
      }
    }
  };
  visit(file, text);
  return out;
}

/** A range of a document: 1-based start, and the end line and column just after the end. */
export interface Extent {
  /** Start line (1-based). */
  line: number;
  /** Start column (1-based). */
  col: number;
  /** End line (1-based). */
  endLine: number;
  /** Column just after the last character (1-based). */
  endCol: number;
}

/**
 * The extent of the top-level statement containing `span`: from its first token to the `}`
 * that closes its first block, or to the end of its line.
 */
export function statementExtent(text: string, span: Span): Extent {
  const toks = scenarioLexer.tokenize(text).tokens;
  let i = toks.findIndex((t) => t.startLine === span.line && t.startColumn === span.col);
  if (i < 0) return { line: span.line, col: span.col, endLine: span.line, endCol: span.col + 1 };
  // back to the start of the statement (top-level items follow a separator or a block)
  while (i > 0 && !isSep(toks[i - 1]) && toks[i - 1].tokenType.name !== "RCurly") i--;
  const first = toks[i];
  let depth = 0;
  let last = first;
  for (let j = i; j < toks.length; j++) {
    const t = toks[j];
    if (depth === 0 && isSep(t)) break;
    last = t;
    if (t.tokenType.name === "LCurly") depth++;
    else if (t.tokenType.name === "RCurly" && --depth <= 0) break;
  }
  return {
    line: first.startLine ?? span.line,
    col: first.startColumn ?? span.col,
    endLine: last.endLine ?? span.line,
    endCol: (last.endColumn ?? span.col) + 1,
  };
}

function isSep(t: IToken): boolean {
  return t.tokenType.name === "Newline" || t.tokenType.name === "Semi";
}

/** The name or keyword under 0-based `character` of `lineText`, with its 0-based start. */
export function wordAt(
  lineText: string,
  character: number,
): { word: string; start: number } | undefined {
  const re = /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*/g;
  for (const m of lineText.matchAll(re)) {
    const start = m.index ?? 0;
    if (character >= start && character <= start + m[0].length) {
      // a unit suffix (`16ms`) is not a word
      if (start > 0 && /[0-9.]/.test(lineText[start - 1])) return undefined;
      return { word: m[0], start };
    }
  }
  return undefined;
}
