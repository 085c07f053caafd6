// Property tests (fast-check, fuzz/dsl.ts): whatever the input, the DSL never throws, never
// reports an internal error, and every diagnostic points inside the file it names. Small
// runs here; `deno task fuzz` runs 100,000 inputs with per-input timing (fuzz/README.md).
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  anyText,
  checkRenamed,
  checkScenarioText,
  deepInput,
  mutatedScenario,
  renamedScenario,
  repeated,
  SCENARIOS,
  tokenSoup,
} from "../fuzz/dsl.ts";

const holds = (text: string) => assert.deepEqual(checkScenarioText(text), [], text.slice(0, 300));

Deno.test("fuzz: random token soup never crashes and is always located", () => {
  fc.assert(fc.property(tokenSoup, holds), { numRuns: 800, seed: 1 });
});

Deno.test("fuzz: arbitrary unicode strings never crash", () => {
  fc.assert(fc.property(anyText, holds), { numRuns: 300, seed: 2 });
});

Deno.test("fuzz: mutated scenario files never crash and stay located", () => {
  fc.assert(fc.property(mutatedScenario, holds), { numRuns: 500, seed: 3 });
});

Deno.test("fuzz: deep nesting and long repetitions are refused or parsed, never crash", () => {
  fc.assert(fc.property(fc.oneof(deepInput, repeated), holds), { numRuns: 200, seed: 4 });
});

Deno.test("fuzz: truncating a scenario anywhere never crashes", () => {
  const text = SCENARIOS[0];
  for (let i = 0; i <= text.length; i += 7) holds(text.slice(0, i));
});

Deno.test("fuzz: a declared name renamed to a word objects inherit works as before; __proto__ is refused at each use", () => {
  fc.assert(
    fc.property(
      renamedScenario,
      (r) => assert.deepEqual(checkRenamed(r), [], r.text.slice(0, 300)),
    ),
    { numRuns: 120, seed: 6 },
  );
});
