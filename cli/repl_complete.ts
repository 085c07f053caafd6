/**
 * Argument-aware completion for the REPL: what the next word of a command may be, read from
 * the command's usage line in cli/repl_help.ts (`reg <vm> <name | offset>` completes VM names,
 * then register names; `until irq <vm> | switch | failsafe` completes the three forms), and
 * from the scenario language for timeline statements (`pause <vm>`, `misbehave <vm> <kind>`).
 * @module
 */

import { ENGINE_NAMES } from "../core/scenario.ts";
import { OPTIONAL_OPS, REQUIRED_OPS } from "../core/mpt/types.ts";
import type { World } from "../core/world.ts";
import {
  FAULT_ACTIONS,
  MISBEHAVIOURS,
  PERCENTILES,
  POLICIES,
  RESULT_FUNCTIONS,
  SCHEDULER_PARAMS,
  TRAP_KINDS,
} from "../dsl/functions.ts";
import { DSL_ACTIONS, REPL_COMMANDS } from "./repl_help.ts";

/** Usage of the timeline statements the REPL accepts (the scenario language's forms). */
const DSL_USAGE: Readonly<Record<string, string>> = {
  start: "start <vm>",
  stop: "stop <vm>",
  pause: "pause <vm>",
  resume: "resume <vm>",
  reset: "reset <vm>",
  weight: "weight <vm> <n>",
  misbehave: "misbehave <vm> <misbehaviour> [n]",
  fault: "fault <op> <action> [amount]",
  policy: "policy <policy> [param] [duration]",
};

const DURATIONS = ["1ms", "10ms", "100ms", "1s"];

/** Candidates for one usage term (`<vm>`, `[n | all]`, `irq`). */
function termCandidates(term: string, w: World | null): string[] {
  const inner = term.replace(/^[<[]|[>\]]$/g, "");
  if (inner === term) return [term]; // a literal word of the usage (`irq`, `reg`)
  const out: string[] = [];
  for (const alt of inner.split(/\s*\|\s*/)) {
    switch (alt) {
      case "vm":
        if (w) out.push(...w.vms.map((v) => v.spec.name));
        break;
      case "reg":
      case "register":
        if (w) out.push(...w.gpu.registerDefs.map((d) => d.name));
        break;
      case "duration":
      case "cap":
        out.push(...DURATIONS);
        break;
      case "command":
        out.push(...REPL_COMMANDS.map((c) => c.name), ...DSL_ACTIONS);
        break;
      case "engine":
        out.push(...ENGINE_NAMES);
        break;
      case "misbehaviour":
        out.push(...MISBEHAVIOURS);
        break;
      case "op":
        out.push(...REQUIRED_OPS, ...OPTIONAL_OPS);
        break;
      case "action":
        out.push(...FAULT_ACTIONS);
        break;
      case "policy":
        out.push(...POLICIES);
        break;
      case "param":
        out.push(...SCHEDULER_PARAMS);
        break;
      case "expression":
      case "condition":
        // any word of an expression: functions, VMs and the argument words
        out.push(...RESULT_FUNCTIONS.map((f) => f.name), ...ENGINE_NAMES, ...PERCENTILES);
        out.push(...TRAP_KINDS);
        if (w) out.push(...w.vms.map((v) => v.spec.name));
        break;
      default:
        // a keyword among placeholders (`all`, `aperture`); <n>, <value> ... offer nothing
        if (/^[a-z_]+$/.test(alt) && !PLACEHOLDERS.has(alt)) out.push(alt);
    }
  }
  return out;
}

/** Usage words that stand for a value the user types (nothing to complete). */
const PLACEHOLDERS = new Set([
  "n",
  "count",
  "value",
  "offset",
  "start",
  "path",
  "amount",
  "gpa",
  "bytes",
  "filter",
  "name",
  "scenario.gvt",
  "checkpoint",
]);

/** The forms of a command (its usage split at top-level `|`), as lists of terms. */
function forms(usage: string, name: string): string[][] {
  const rest = usage.slice(name.length).trim();
  const variants: string[] = [];
  let depth = 0, cur = "";
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === "<" || c === "[") depth++;
    else if (c === ">" || c === "]") depth--;
    if (depth === 0 && c === "|") {
      variants.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  variants.push(cur.trim());
  return variants.map((v) => v.match(/<[^>]*>|\[[^\]]*\]|\S+/g) ?? []);
}

/** The words the next argument of `typed` (command first) may be. */
export function completeArgs(w: World | null, typed: readonly string[]): string[] {
  const [cmd, ...args] = typed;
  const usage = REPL_COMMANDS.find((c) => c.name === cmd)?.usage ??
    (Object.hasOwn(DSL_USAGE, cmd) ? DSL_USAGE[cmd] : undefined);
  if (usage === undefined) return [];
  const out: string[] = [];
  for (const terms of forms(usage, cmd)) {
    // a form fits when the words typed so far match its literal terms
    const fits = args.every((a, i) => {
      const t = terms[Math.min(i, terms.length - 1)];
      return t !== undefined && (/^[<[]/.test(t) || t === a) &&
        (i < terms.length || /^<(expression|condition)>$/.test(t));
    });
    // an expression or condition runs to the end of the line
    const last = terms[terms.length - 1] ?? "";
    const open = /^<(expression|condition)>$/.test(last) && args.length >= terms.length;
    const next = open ? last : terms[args.length];
    if (fits && next !== undefined) out.push(...termCandidates(next, w));
  }
  return out;
}
