/**
 * Checkpoint decoding and restoring under mutation (fuzz/checkpoint.ts): an attacker's edits
 * with a recomputed digest, and plain damage, never make gvtsim throw or report an internal
 * error; every refusal is one line. Small here; `deno task fuzz` runs more.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { baseCheckpoint, checkCheckpointText, mutatedCheckpoint } from "../fuzz/checkpoint.ts";

Deno.test("fuzz: mutated checkpoints are refused in one line or restored, never crash", async () => {
  const base = await baseCheckpoint();
  await fc.assert(
    fc.asyncProperty(mutatedCheckpoint(base), async (text) => {
      assert.deepEqual(await checkCheckpointText(text), []);
    }),
    { numRuns: 25, seed: 7 },
  );
});
