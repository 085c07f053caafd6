/**
 * Hover text for a word of a scenario (Markdown): a keyword's or setting's syntax and docs, a
 * result function's signature and meaning, what a VM, workload or type declaration says.
 * @module
 */

import { BUILTIN_TYPES } from "../core/vgpu_types.ts";
import { signature } from "./complete.ts";
import {
  findFunction,
  MISBEHAVIOURS,
  PERCENTILES,
  POLICIES,
  TRAP_KINDS,
  VM_STATES,
} from "./functions.ts";
import type { Declaration } from "./symbols.ts";
import { KEYWORD_DOCS, SETTING_DOCS } from "./word_docs.ts";

const VALUE_SETS: [readonly string[], string][] = [
  [VM_STATES, "a vGPU state (`state(VM) is ...`)"],
  [PERCENTILES, "a latency percentile (`latency(VM, ...)`)"],
  [TRAP_KINDS, "a trap kind (`traps(VM, ...)`)"],
  [POLICIES, "a scheduler policy"],
  [MISBEHAVIOURS, "a misbehaviour kind (`misbehave ...`)"],
];

function describeDecl(d: Declaration): string {
  const where = `${d.span.file}:${d.span.line}`;
  const it = d.item;
  if (it.k === "vm") {
    const parts: string[] = [];
    for (const s of it.stmts) {
      if (s.k !== "setting") parts.push(`${s.k} ${s.name}`);
    }
    const many = it.count ? ` (one of ${it.name}[${it.count.raw}])` : "";
    return `**vm ${d.name}**${many}: ${parts.join(", ")}  \ndeclared at ${where}`;
  }
  if (it.k === "workload") {
    return `**workload ${d.name}**: ${it.body.length} step(s)  \ndeclared at ${where}`;
  }
  return `**type ${d.name}** (vGPU type)  \ndeclared at ${where}`;
}

/** Markdown for `word`, or undefined when it means nothing in particular. */
export function hoverText(word: string, decls: readonly Declaration[]): string | undefined {
  const decl = decls.find((d) => d.name === word);
  if (decl) return describeDecl(decl);
  const f = findFunction(word);
  if (f) return `\`${signature(word)}\` (${f.unit})  \n${f.doc}`;
  const kw = Object.hasOwn(KEYWORD_DOCS, word)
    ? KEYWORD_DOCS[word]
    : Object.hasOwn(SETTING_DOCS, word)
    ? SETTING_DOCS[word]
    : undefined;
  if (kw) return `\`${kw.syntax}\`  \n${kw.doc}`;
  const t = BUILTIN_TYPES.find((x) => x.name === word);
  if (t) {
    return `**type ${t.name}** (built-in vGPU type): aperture ${t.aperture / 2 ** 20} MiB, ` +
      `hidden ${t.hidden / 2 ** 20} MiB, ${t.fences} fences, weight ${t.weight}, ` +
      `${t.width}x${t.height}`;
  }
  for (const [set, what] of VALUE_SETS) if (set.includes(word)) return `\`${word}\`: ${what}`;
  return undefined;
}
