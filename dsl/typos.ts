/**
 * One error for one mistake: before parsing, a misspelt keyword at the start of a statement
 * (`worklaod`, `schedular`, `thnik`) is reported once with the keyword it is closest to, and
 * read as that keyword, so the rest of the file parses and checks as intended (no follow-on
 * syntax errors, no "no workload is declared"). An unknown word starting a top-level statement
 * is reported once and its statement skipped. Statements whose first word is a free name (cost
 * overrides in a hypervisor block, settings blocks) are left to the checker's suggestions.
 * @module
 */

import type { IToken, TokenType } from "chevrotain";
import { ENGINE_NAMES } from "../core/scenario.ts";
import { type Block, placeTokens } from "./blocks.ts";
import { HOST_SETTINGS } from "./checker.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { firstKeywords } from "./first_words.ts";
import { VM_SETTINGS } from "./functions.ts";
import { Identifier, KEYWORD_TOKENS } from "./lexer.ts";
import { closest } from "../core/suggest.ts";

/** Per block: the rule its statements follow, and the names that may start one. */
const STATEMENTS: Partial<Record<Block, { rule: string; names: readonly string[] }>> = {
  top: { rule: "topItem", names: [] },
  host: { rule: "hostStmt", names: HOST_SETTINGS },
  vm: { rule: "vmStmt", names: VM_SETTINGS },
  ops: { rule: "op", names: ENGINE_NAMES },
  timeline: { rule: "tlStmt", names: [] },
};

function keywordToken(word: string): TokenType | undefined {
  return KEYWORD_TOKENS.find((t) => (t.PATTERN as RegExp).source === word);
}

function spanOf(t: IToken, file: string): Pick<Diagnostic, "file" | "line" | "col" | "len"> {
  return { file, line: t.startLine ?? 1, col: t.startColumn ?? 1, len: t.image.length };
}

/** Returns the tokens to parse (typos re-read, unknown top-level statements left out). */
export function fixKeywordTypos(
  tokens: IToken[],
  file: string,
): { tokens: IToken[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const skip = new Set<number>();
  const { placed } = placeTokens(tokens);
  for (let i = 0; i < placed.length; i++) {
    const { token: t, block, position } = placed[i];
    const st = STATEMENTS[block];
    if (!st || position > 0 || t.tokenType !== Identifier || st.names.includes(t.image)) {
      continue;
    }
    const keywords = firstKeywords(st.rule);
    const kw = closest(t.image, keywords);
    const kwTok = kw === undefined ? undefined : keywordToken(kw);
    if (kw !== undefined && kwTok) {
      diagnostics.push({
        ...spanOf(t, file),
        severity: "error",
        message: `unknown keyword '${t.image}' (did you mean '${kw}'?)`,
        note: `read as '${kw}' to check the rest of the file`,
      });
      t.tokenType = kwTok;
      t.tokenTypeIdx = kwTok.tokenTypeIdx as number;
      continue;
    }
    if (block !== "top") continue;
    diagnostics.push({
      ...spanOf(t, file),
      severity: "error",
      message: `unexpected '${t.image}': expected a declaration (${keywords.join(", ")})`,
    });
    // leave out the whole statement, its blocks included
    let depth = 0, last = i;
    for (let j = i; j < tokens.length; j++) {
      const n = tokens[j].tokenType.name;
      if (depth === 0 && (n === "Newline" || n === "Semi")) break;
      if (n === "LCurly") depth++;
      else if (n === "RCurly") depth--;
      skip.add(j);
      last = j;
      if (depth < 0) break;
    }
    i = Math.max(i, last); // go on after the statement left out
  }
  return { tokens: skip.size ? tokens.filter((_, j) => !skip.has(j)) : tokens, diagnostics };
}
