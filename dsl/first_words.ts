/**
 * The keywords a grammar rule can start with, read from the parser's own productions (for the
 * TextMate grammar and the language server's completion, so neither keeps a copy).
 * @module
 */

import type { ISerializedGast } from "chevrotain";
import { KEYWORDS } from "./lexer.ts";
import { scenarioParser } from "./parser.ts";

type Node = ISerializedGast & { definition?: Node[]; pattern?: string; name?: string };

let rules: Map<string, Node> | undefined;

function rule(name: string): Node | undefined {
  rules ??= new Map(
    (scenarioParser.getSerializedGastProductions() as Node[]).map((r) => [r.name ?? "", r]),
  );
  return rules.get(name);
}

/** Adds the first keywords of a sequence; returns whether it can be empty. */
function firstOfSeq(seq: Node[], out: Set<string>, seen: Set<string>): boolean {
  for (const n of seq) if (!firstOf(n, out, seen)) return false;
  return true;
}

/** Adds the first keywords of `n`; returns whether `n` can match nothing. */
function firstOf(n: Node, out: Set<string>, seen: Set<string>): boolean {
  switch (n.type) {
    case "Terminal":
      if (n.pattern !== undefined && KEYWORDS.includes(n.pattern)) out.add(n.pattern);
      return false;
    case "NonTerminal": {
      const name = n.name ?? "";
      if (seen.has(name)) return false;
      seen.add(name);
      const r = rule(name);
      return r ? firstOfSeq(r.definition ?? [], out, seen) : false;
    }
    case "Alternation": {
      let empty = false;
      for (const alt of n.definition ?? []) empty = firstOf(alt, out, seen) || empty;
      return empty;
    }
    case "Option":
    case "Repetition":
    case "RepetitionWithSeparator":
      firstOfSeq(n.definition ?? [], out, seen);
      return true;
    default: // Rule, Alternative, mandatory repetitions
      return firstOfSeq(n.definition ?? [], out, seen);
  }
}

/** The keywords rule `name` may start with, in grammar order. */
export function firstKeywords(name: string): string[] {
  const out = new Set<string>();
  const r = rule(name);
  if (r) firstOfSeq(r.definition ?? [], out, new Set([name]));
  return [...out];
}
