/**
 * Fuzzing the scenario language: input generators (fast-check arbitraries) and the property
 * every input must satisfy. Used by tests/dsl_fuzz_test.ts (small, in CI) and by
 * `deno task fuzz` (fuzz/run.ts, long runs with per-input timing).
 *
 * The property: {@link checkScenarioText} never throws, reports no internal error, and every
 * diagnostic points inside the file it names (line and column in range).
 * @module
 */

import fc from "fast-check";
import { COMPLETIONS, formatDiagnostics, KEYWORDS, parseScenarioText } from "../dsl/mod.ts";
import { scenarioLexer } from "../dsl/lexer.ts";

/** The shipped scenarios (the seeds of mutation). */
export const SCENARIOS: readonly string[] = [
  ...Deno.readDirSync(new URL("../scenarios/", import.meta.url)),
]
  .filter((e) => e.isFile && e.name.endsWith(".gvt"))
  .map((e) => e.name)
  .sort()
  .map((n) => Deno.readTextFileSync(new URL(`../scenarios/${n}`, import.meta.url)));

/** Pieces of scenario text: keywords, punctuation, quantities, names, odd characters. */
export const PIECES: readonly string[] = [
  ...KEYWORDS,
  ..."{}()[];\n,:+-*/%#".split(""),
  ">=",
  "<",
  "==",
  "//",
  '"',
  '"x.gvt"',
  '"y.ts"',
  "$N",
  "a",
  "vm1",
  "rcs",
  "V5_4",
  "fps",
  "state",
  "0",
  "16.7ms",
  "512MiB",
  "1024GiB",
  "60fps",
  "10%",
  "1920x1200",
  "2us",
  "86400s",
  "1e999",
  "@",
  "\t",
  " ",
  "\r\n",
  "\u2028",
  "\x1b[2J",
  "\u202e",
  "\0",
];

/** Random sequences of pieces, with random gaps. */
export const tokenSoup: fc.Arbitrary<string> = fc.tuple(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 120 }),
  fc.array(fc.constantFrom(" ", "", "\n"), { minLength: 120, maxLength: 120 }),
).map(([parts, gaps]) => parts.map((p, i) => p + gaps[i]).join(""));

/** Arbitrary text, any code points. */
export const anyText: fc.Arbitrary<string> = fc.string({ unit: "binary", maxLength: 300 });

/** A shipped scenario with a few random edits. */
export const mutatedScenario: fc.Arbitrary<string> = fc.record({
  file: fc.nat(SCENARIOS.length - 1),
  edits: fc.array(
    fc.record({
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      del: fc.nat(16),
      ins: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 6 })),
    }),
    { minLength: 1, maxLength: 6 },
  ),
}).map(({ file, edits }) => {
  let text = SCENARIOS[file];
  for (const e of edits) {
    const i = Math.floor(e.at * text.length);
    text = text.slice(0, i) + e.ins + text.slice(i + e.del);
  }
  return text;
});

/** Brackets, unary minus and operators nested and repeated (deep and long inputs). */
export const deepInput: fc.Arbitrary<string> = fc.record({
  head: fc.constantFrom("expect ", "workload w ", "host { x ", "vm a { ", "timeline { at 1s ", ""),
  open: fc.constantFrom("(", "{", "[", "-", "f(", "loop {", "- (", "1 + ", "a("),
  depth: fc.nat(200),
  close: fc.constantFrom(")", "}", "]", "", "1)", " > 0"),
  closeDepth: fc.nat(200),
  tail: fc.constantFrom("", "\n", " > 0\n", "}\n"),
}).map((x) => x.head + x.open.repeat(x.depth) + x.close.repeat(x.closeDepth) + x.tail);

/** One piece or line repeated many times (the shape of super-linear parser paths). */
export const repeated: fc.Arbitrary<string> = fc.record({
  unit: fc.oneof(
    fc.constantFrom(...PIECES),
    fc.constantFrom(
      "expect ((",
      "vm a { type V5_4; run w }\n",
      "workload w { rcs batch { draw 1 }\n",
      'include "x.gvt"\n',
      "at 1s pause a\n",
      "choose { 1: { flip }\n",
      "expect fps(a) >= ",
    ),
  ),
  n: fc.integer({ min: 1, max: 3000 }),
}).map(({ unit, n }) => unit.repeat(n));

/** Words JavaScript objects inherit (they must work as names) and the one refused name. */
export const TRICKY_NAMES: readonly string[] = [
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "isPrototypeOf",
  "__defineGetter__",
  "__proto__",
];

/**
 * Names a scenario declares (`vm`, `workload`, `type`, `param`, a named `host`), but not words
 * the language knows (a workload named `media`, also a command kind) or built-in vGPU types.
 */
function declaredNames(text: string): string[] {
  const out = new Set<string>();
  const decl = /^\s*(?:(?:vm|workload|type|param)\s+([A-Za-z_]\w*)\b|host\s+([A-Za-z_]\w*)\s+\w)/gm;
  for (const m of text.matchAll(decl)) {
    const n = m[1] ?? m[2];
    if (!COMPLETIONS.includes(n) && !TRICKY_NAMES.includes(n) && !/^V\d_\d+$/.test(n)) out.add(n);
  }
  return [...out].sort();
}

/** A shipped scenario with one declared name renamed, everywhere, to a {@link TRICKY_NAMES} word. */
export interface Renamed {
  /** The scenario as shipped. */
  original: string;
  /** The name renamed. */
  name: string;
  /** What it became. */
  word: string;
  /** The scenario with the name renamed. */
  text: string;
}

/** `text` with every `name` (and `nameN`, the VMs of `vm name[N]`) as a word renamed to `word`. */
function rename(text: string, name: string, word: string): string {
  return text.replace(new RegExp(`\\b${name}(\\d*)\\b`, "g"), `${word}$1`);
}

/** {@link Renamed} scenarios (checked by {@link checkRenamed}). */
export const renamedScenario: fc.Arbitrary<Renamed> = fc.record({
  file: fc.constantFrom(...SCENARIOS.filter((t) => declaredNames(t).length > 0)),
  pick: fc.nat(),
  word: fc.constantFrom(...TRICKY_NAMES),
}).map(({ file, pick, word }) => {
  const names = declaredNames(file);
  const name = names[pick % names.length];
  return { original: file, name, word, text: rename(file, name, word) };
});

/**
 * The name rule on a {@link Renamed} scenario: renamed to `__proto__`, every use of it is an
 * error naming it; renamed to any other word, the diagnostics are the original's (with the
 * name renamed), so the word works exactly as the name did. Also {@link checkScenarioText}.
 */
export function checkRenamed(r: Renamed): string[] {
  const problems = checkScenarioText(r.text);
  const errors = (text: string) =>
    parseScenarioText(text, "fuzz.gvt", { readFile: libraryFile }).diagnostics
      .filter((d) => d.severity === "error")
      .map((d) => `${d.line}:${d.message}`);
  const now = errors(r.text);
  if (r.word === "__proto__") {
    const uses = scenarioLexer.tokenize(r.text).tokens
      .filter((t) => t.image === r.word || t.image === `$${r.word}`).length;
    const refused = now.filter((m) => m.includes(`'${r.word}' cannot be a name`)).length;
    if (refused !== uses) problems.push(`${uses} uses of ${r.word}, ${refused} errors naming it`);
    return problems;
  }
  const before = errors(r.original).map((m) => rename(m, r.name, r.word));
  if (JSON.stringify(now) !== JSON.stringify(before)) {
    problems.push(`renaming ${r.name} to ${r.word} changed the diagnostics: ${now.join(" | ")}`);
  }
  return problems;
}

/** Every generator, weighted. */
export const anyScenarioText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: tokenSoup, weight: 4 },
  { arbitrary: mutatedScenario, weight: 4 },
  { arbitrary: anyText, weight: 2 },
  { arbitrary: deepInput, weight: 2 },
  { arbitrary: repeated, weight: 1 },
);

/** Includes resolve against an in-memory file system holding one small library file. */
function libraryFile(p: string): string {
  if (p === "x.gvt") return "workload lib { flip }\n";
  throw new Error("no such file");
}

/** What checking one input found wrong (empty when it is fine). */
export function checkScenarioText(text: string): string[] {
  const problems: string[] = [];
  let r;
  try {
    r = parseScenarioText(text, "fuzz.gvt", { readFile: libraryFile });
  } catch (e) {
    return [`threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`];
  }
  const linesOf = new Map<string, string[]>();
  for (const d of r.diagnostics) {
    if (/internal error/i.test(d.message)) problems.push(`internal error: ${d.message}`);
    const src = r.sources.get(d.file);
    if (src === undefined) {
      problems.push(`diagnostic names an unknown file ${d.file}`);
      continue;
    }
    let lines = linesOf.get(d.file);
    if (lines === undefined) linesOf.set(d.file, lines = src.split("\n"));
    if (!(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines.length)) {
      problems.push(`line ${d.line} of ${lines.length}: ${d.message}`);
      continue;
    }
    const len = lines[d.line - 1].length;
    if (!(Number.isInteger(d.col) && d.col >= 1 && d.col <= len + 1)) {
      problems.push(`col ${d.col} of ${len}: ${d.message}`);
    }
    if (!(d.len >= 1)) problems.push(`length ${d.len}: ${d.message}`);
  }
  if (r.scenario && r.diagnostics.some((d) => d.severity === "error")) {
    problems.push("a scenario was returned with errors");
  }
  try {
    formatDiagnostics(r.diagnostics, r.sources);
  } catch (e) {
    problems.push(`formatting threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  return problems;
}
