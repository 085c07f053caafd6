/**
 * Which kind of block each token of a scenario is in and where statements start, read from
 * the tokens alone (so it works on text that does not parse): completion uses it to know what
 * may come next, the typo pass to know which keywords a misspelt word could be.
 * @module
 */

import type { IToken } from "chevrotain";

/** The kinds of blocks of the language. */
export type Block =
  | "top"
  | "host"
  | "hv"
  | "settings"
  | "type"
  | "vm"
  | "ops"
  | "choose"
  | "mix"
  | "timeline"
  | "report";

/** A token with its block and where it is in its statement. */
export interface PlacedToken {
  /** The token. */
  token: IToken;
  /** The innermost block it is in. */
  block: Block;
  /** How many tokens of its statement come before it (0: it starts a statement). */
  position: number;
}

/** The block a `{` opens, from the statement before it and the block around it. */
function blockOf(stmt: IToken[], outer: Block): Block {
  const first = stmt[0]?.image;
  const last = stmt[stmt.length - 1]?.image;
  if (outer === "top") {
    if (first === "host") return "host";
    if (first === "type") return "type";
    if (first === "vm") return "vm";
    if (first === "workload") return "ops";
    if (first === "timeline") return "timeline";
    if (first === "report") return "report";
    return "settings";
  }
  if (outer === "host") return first === "hypervisor" ? "hv" : "settings";
  if (outer === "ops" || outer === "choose") {
    if (first === "choose" && stmt.length === 1) return "choose";
    return last === "batch" ? "mix" : "ops";
  }
  return "settings";
}

const isSep = (t: IToken) => t.tokenType.name === "Newline" || t.tokenType.name === "Semi";

/** Places every token (separators and braces included); `end` is the place after the last. */
export function placeTokens(
  tokens: readonly IToken[],
): { placed: PlacedToken[]; end: { block: Block; before: IToken[] } } {
  const stack: Block[] = ["top"];
  let stmt: IToken[] = [];
  const placed: PlacedToken[] = [];
  for (const t of tokens) {
    const n = t.tokenType.name;
    placed.push({ token: t, block: stack[stack.length - 1], position: stmt.length });
    if (n === "LCurly") stack.push(blockOf(stmt, stack[stack.length - 1]));
    else if (n === "RCurly" && stack.length > 1) stack.pop();
    // a fresh array per statement, appended in place: linear in the tokens
    if (isSep(t) || n === "LCurly" || n === "RCurly") stmt = [];
    else stmt.push(t);
  }
  return { placed, end: { block: stack[stack.length - 1], before: stmt } };
}
