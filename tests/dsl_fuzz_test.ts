// Property tests (fast-check): whatever the input, the DSL never throws, never reports an
// internal error, and every diagnostic points inside the file it names.
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatDiagnostics, KEYWORDS, parseScenarioText } from "../dsl/mod.ts";
import type { Diagnostic } from "../dsl/mod.ts";

const SCENARIOS = [...Deno.readDirSync(new URL("../scenarios/", import.meta.url))]
  .filter((e) => e.isFile && e.name.endsWith(".gvt"))
  .map((e) => e.name)
  .sort()
  .map((n) => Deno.readTextFileSync(new URL(`../scenarios/${n}`, import.meta.url)));

const PIECES = [
  ...KEYWORDS,
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ";",
  "\n",
  ",",
  ":",
  ">=",
  "<",
  "==",
  "+",
  "-",
  "*",
  "/",
  "%",
  "#",
  "//",
  '"',
  '"x.gvt"',
  "a",
  "vm1",
  "rcs",
  "V5_4",
  "fps",
  "state",
  "0",
  "16.7ms",
  "512MiB",
  "60fps",
  "10%",
  "1920x1200",
  "2us",
  "@",
  "\t",
  " ",
  "\r\n",
];

function assertLocated(
  text: string,
  file: string,
  diags: Diagnostic[],
  sources: Map<string, string>,
) {
  for (const d of diags) {
    assert.ok(!d.message.startsWith("internal error"), d.message);
    const src = sources.get(d.file);
    assert.ok(src !== undefined, `diagnostic names an unknown file ${d.file}`);
    const lines = src.split("\n");
    assert.ok(
      Number.isInteger(d.line) && d.line >= 1 && d.line <= lines.length,
      `line ${d.line} of ${lines.length}: ${d.message}`,
    );
    const len = lines[d.line - 1].length;
    assert.ok(
      Number.isInteger(d.col) && d.col >= 1 && d.col <= len + 1,
      `col ${d.col} of ${len}: ${d.message}`,
    );
    assert.ok(d.len >= 1);
  }
  assert.equal(typeof formatDiagnostics(diags, sources), "string");
  void text;
  void file;
}

function run(text: string): void {
  // Includes resolve against an in-memory file system holding one small library file.
  const readFile = (p: string) => {
    if (p === "x.gvt") return "workload lib { flip }\n";
    throw new Error("no such file");
  };
  const r = parseScenarioText(text, "fuzz.gvt", { readFile });
  assertLocated(text, "fuzz.gvt", r.diagnostics, r.sources);
  if (r.scenario) assert.equal(r.diagnostics.filter((d) => d.severity === "error").length, 0);
}

Deno.test("fuzz: random token soup never crashes and is always located", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...PIECES), { maxLength: 80 }),
      fc.array(fc.constantFrom(" ", "", "\n"), { minLength: 80, maxLength: 80 }),
      (parts, gaps) => {
        run(parts.map((p, i) => p + gaps[i]).join(""));
      },
    ),
    { numRuns: 1000, seed: 1 },
  );
});

Deno.test("fuzz: arbitrary unicode strings never crash", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => run(s)),
    { numRuns: 300, seed: 2 },
  );
});

Deno.test("fuzz: mutated scenario files never crash and stay located", () => {
  const mutation = fc.record({
    file: fc.nat(SCENARIOS.length - 1),
    edits: fc.array(
      fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        del: fc.nat(12),
        ins: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 4 })),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  });
  fc.assert(
    fc.property(mutation, ({ file, edits }) => {
      let text = SCENARIOS[file];
      for (const e of edits) {
        const i = Math.floor(e.at * text.length);
        text = text.slice(0, i) + e.ins + text.slice(i + e.del);
      }
      run(text);
    }),
    { numRuns: 600, seed: 3 },
  );
});

Deno.test("fuzz: truncating a scenario anywhere never crashes", () => {
  const text = SCENARIOS[0];
  for (let i = 0; i <= text.length; i += 7) run(text.slice(0, i));
});
