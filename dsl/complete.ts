/**
 * Completion for editors: what may be written at a position of a scenario, from the block the
 * cursor is in and the words before it on the statement (`run ` offers workloads, `latency(a, `
 * percentiles, the start of a host statement `hypervisor`, `scheduler` and the host settings).
 * @module
 */

import type { IToken } from "chevrotain";
import { ENGINE_NAMES } from "../core/scenario.ts";
import { OPTIONAL_OPS, REQUIRED_OPS } from "../core/mpt/types.ts";
import { BUILTIN_TYPES } from "../core/vgpu_types.ts";
import { HOST_SETTINGS } from "./checker.ts";
import { firstKeywords } from "./first_words.ts";
import {
  DISTRIBUTIONS,
  FAULT_ACTIONS,
  findFunction,
  GPU_PROFILES,
  HYPERVISORS,
  MIGRATE_OPTIONS,
  MISBEHAVIOURS,
  MIX_KINDS,
  PERCENTILES,
  POLICIES,
  REPORT_SETTINGS,
  REPORT_TABLES,
  RESULT_FUNCTIONS,
  SCHEDULER_PARAMS,
  SWITCH_WORDS,
  TIMELINE_ACTIONS,
  TRAP_KINDS,
  TYPE_SETTINGS,
  VM_ACTIONS,
  VM_SETTINGS,
  VM_STATES,
  WAIT_CONDITIONS,
} from "./functions.ts";
import { type Block, placeTokens } from "./blocks.ts";
import { scenarioLexer } from "./lexer.ts";
import type { Declaration } from "./symbols.ts";
import { KEYWORD_DOCS, SETTING_DOCS } from "./word_docs.ts";

/** What a completion is. */
export type CompletionKind =
  | "keyword"
  | "setting"
  | "function"
  | "vm"
  | "workload"
  | "type"
  | "host"
  | "value";

/** One completion. */
export interface Completion {
  /** The word to insert. */
  label: string;
  /** What it is. */
  kind: CompletionKind;
  /** A short line: the syntax or the signature. */
  detail?: string;
  /** What it does. */
  doc?: string;
}

const SWITCHES = ["out_of_sync", "invariants", "scan_ppgtt", "gscale", "blit_data"];

/** The signature of a result function, e.g. `latency(vm, percentile)`. */
export function signature(name: string): string | undefined {
  const f = findFunction(name);
  if (!f) return undefined;
  return `${f.name}(${f.args.map((a, i) => (i >= f.minArgs ? `[${a}]` : a)).join(", ")})`;
}

function keywords(words: readonly string[]): Completion[] {
  return words.map((w) => ({
    label: w,
    kind: "keyword",
    detail: KEYWORD_DOCS[w]?.syntax,
    doc: KEYWORD_DOCS[w]?.doc,
  }));
}

function settings(words: readonly string[]): Completion[] {
  return words.map((w) => ({
    label: w,
    kind: "setting",
    detail: SETTING_DOCS[w]?.syntax,
    doc: SETTING_DOCS[w]?.doc,
  }));
}

function values(words: readonly string[], detail?: string): Completion[] {
  return words.map((w) => ({ label: w, kind: "value", detail }));
}

function functions(): Completion[] {
  return RESULT_FUNCTIONS.map((f) => ({
    label: f.name,
    kind: "function",
    detail: signature(f.name),
    doc: f.doc,
  }));
}

function names(decls: readonly Declaration[], kind: Declaration["kind"]): Completion[] {
  const seen = new Set<string>();
  const out: Completion[] = [];
  for (const d of decls) {
    if (d.kind !== kind || seen.has(d.name)) continue;
    seen.add(d.name);
    out.push({ label: d.name, kind, detail: `${kind} declared at ${d.span.file}:${d.span.line}` });
  }
  return out;
}

/**
 * The completions at `offset` of `text` (the word being typed, if any, is left for the editor
 * to filter by). `decls` are the scenario's declarations ({@link ./symbols.ts}).
 */
export function completionsAt(
  text: string,
  offset: number,
  decls: readonly Declaration[],
): Completion[] {
  const toks = scenarioLexer.tokenize(text.slice(0, offset)).tokens;
  const lastTok = toks[toks.length - 1];
  if (
    lastTok && (lastTok.endOffset ?? -1) + 1 === offset &&
    /^[A-Za-z_]/.test(lastTok.image)
  ) {
    toks.pop(); // the word being typed
  }
  const { block, before } = placeTokens(toks).end;
  return forStatement(block, before, decls);
}

function forStatement(block: Block, stmt: IToken[], decls: readonly Declaration[]): Completion[] {
  const vms = () => names(decls, "vm");
  const words = stmt.map((t) => t.image);
  const prev = words[words.length - 1];
  // inside a call's parentheses: the argument it expects
  let depth = 0;
  for (let i = stmt.length - 1; i >= 0; i--) {
    const n = stmt[i].tokenType.name;
    if (n === "RParen") depth++;
    else if (n === "LParen" && depth-- === 0) {
      const fn = stmt[i - 1]?.image ?? "";
      const argIndex = stmt.slice(i + 1).filter((t) => t.tokenType.name === "Comma").length;
      const f = findFunction(fn);
      const kind = f?.args[argIndex];
      if (kind === "vm") return vms();
      if (kind === "engine") return values(ENGINE_NAMES, "engine");
      if (kind === "percentile") return values(PERCENTILES, "percentile");
      if (kind === "trap_kind") return values(TRAP_KINDS, "trap kind");
      return [];
    }
  }
  if (block === "top") {
    if (words.length === 0) return keywords(firstKeywords("topItem"));
    if (words[0] === "expect") return expectation(words);
    if (words[0] === "host" && words.length === 1) return values(GPU_PROFILES, "GPU profile");
    return [];
  }
  if (words.length === 0) {
    switch (block) {
      case "host":
        return [...keywords(firstKeywords("hostStmt")), ...settings(HOST_SETTINGS)];
      case "hv":
        return keywords(firstKeywords("hvStmt"));
      case "type":
        return settings(TYPE_SETTINGS);
      case "vm":
        return [...keywords(firstKeywords("vmStmt")), ...settings(VM_SETTINGS)];
      case "ops":
        return [...keywords(firstKeywords("op")), ...values(ENGINE_NAMES, "ENGINE batch")];
      case "mix":
        return settings(MIX_KINDS);
      case "timeline":
        return keywords(firstKeywords("tlStmt"));
      case "report":
        return settings(REPORT_SETTINGS);
      case "settings":
        return settings(SCHEDULER_PARAMS);
      default:
        return [];
    }
  }
  if (words.includes("fault")) return faultOptions(words.slice(words.indexOf("fault")), vms);
  switch (block) {
    case "host":
      if (prev === "hypervisor") return values(HYPERVISORS, "hypervisor backend");
      if (prev === "scheduler") return values(POLICIES, "scheduler policy");
      if (words[0] === "engines") return values(ENGINE_NAMES, "engine");
      if (words.length === 1 && SWITCHES.includes(words[0])) return values(SWITCH_WORDS);
      return [];
    case "vm":
      if (prev === "type") {
        return [...values(BUILTIN_TYPES.map((t) => t.name), "vGPU type"), ...names(decls, "type")];
      }
      if (prev === "run") return names(decls, "workload");
      if (prev === "host") return names(decls, "host");
      return [];
    case "ops":
      if (words.length === 1 && (ENGINE_NAMES as readonly string[]).includes(prev)) {
        return keywords(["batch"]);
      }
      if (prev === "wait") return values(WAIT_CONDITIONS, "wait condition");
      if (prev === "misbehave") return values(MISBEHAVIOURS, "misbehaviour");
      if (prev === "repeat") return keywords(["forever"]);
      if (["think", "map", "unmap", "pte_rewrite"].includes(prev)) {
        return values(Object.keys(DISTRIBUTIONS), "distribution");
      }
      return [];
    case "mix":
      return values(Object.keys(DISTRIBUTIONS), "distribution");
    case "timeline":
      if (words[0] !== "at") return [];
      if (words.length === 2) {
        return [...settings(TIMELINE_ACTIONS), ...keywords(["fault", "misbehave"])];
      }
      if (words.length === 3 && [...VM_ACTIONS, "weight", "misbehave"].includes(prev)) {
        return vms();
      }
      if (words.length === 3 && prev === "policy") return values(POLICIES, "scheduler policy");
      if (words.length === 4 && words[2] === "misbehave") {
        return values(MISBEHAVIOURS, "misbehaviour");
      }
      if (words[2] === "policy" && words.length % 2 === 0) return settings(SCHEDULER_PARAMS);
      if (words[2] === "migrate") {
        // at T migrate VM to HOST (OPTION VALUE)*
        if (words.length === 3) return vms();
        if (words.length === 4) return values(["to"]);
        if (words.length === 5) return names(decls, "host");
        if (words.length % 2 === 0) return settings(MIGRATE_OPTIONS);
        if (prev === "hashing") return values(SWITCH_WORDS);
      }
      return [];
    case "report":
      if (words[0] === "tables") return values(REPORT_TABLES, "report table");
      if (words[0] === "metrics") {
        return functions().filter((f) => findFunction(f.label)?.args[0] === "vm");
      }
      return [];
    default:
      return [];
  }
}

function expectation(words: string[]): Completion[] {
  const prev = words[words.length - 1];
  if (prev === "is") return values(VM_STATES, "vGPU state");
  const ops = [">=", "<=", ">", "<", "==", "!=", "+", "-", "*", "/", "expect", "of", "("];
  if (ops.includes(prev)) return functions();
  if (prev === ")") return keywords(["within", "is"]);
  return [];
}

function faultOptions(words: string[], vms: () => Completion[]): Completion[] {
  const prev = words[words.length - 1];
  if (words.length === 1) return values([...REQUIRED_OPS, ...OPTIONAL_OPS], "MPT op");
  if (words.length === 2) return values(FAULT_ACTIONS, "fault action");
  if (prev === "vm") return vms();
  if (prev === "after" || prev === "for" || prev === "at") return [];
  if (/^\d/.test(prev) && (words[words.length - 2] === "after" || words.at(-2) === "for")) {
    return keywords(["calls"]);
  }
  return keywords(["after", "for", "vm", "at"]);
}
