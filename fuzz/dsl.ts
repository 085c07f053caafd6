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
import { formatDiagnostics, KEYWORDS, parseScenarioText } from "../dsl/mod.ts";

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

/** Every generator, weighted. */
export const anyScenarioText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: tokenSoup, weight: 4 },
  { arbitrary: mutatedScenario, weight: 4 },
  { arbitrary: anyText, weight: 2 },
  { arbitrary: deepInput, weight: 2 },
  { arbitrary: repeated, weight: 1 },
);

/** What checking one input found wrong (empty when it is fine). */
export function checkScenarioText(text: string): string[] {
  const problems: string[] = [];
  // includes resolve against an in-memory file system holding one small library file
  const readFile = (p: string) => {
    if (p === "x.gvt") return "workload lib { flip }\n";
    throw new Error("no such file");
  };
  let r;
  try {
    r = parseScenarioText(text, "fuzz.gvt", { readFile });
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
