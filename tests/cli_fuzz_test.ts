/**
 * The command line under random arguments and REPL scripts (fuzz/cli.ts), as subprocesses
 * with the task's flags: exit codes only 0, 1 or 2, no stack trace, no escaped exception, no
 * internal error. A few runs here; `deno task fuzz` runs more.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { argv, checkCliRun, replScript, runCli, scratchDir } from "../fuzz/cli.ts";

Deno.test("fuzz: random command lines and REPL scripts exit 0, 1 or 2, cleanly", async () => {
  const dir = scratchDir();
  const lines = fc.sample(argv, { numRuns: 6, seed: 5 });
  const scripts = fc.sample(replScript, { numRuns: 2, seed: 6 });
  const runs = await Promise.all([
    ...lines.map((a) => runCli(a, dir)),
    ...scripts.map((s) => runCli(["repl"], dir, s)),
  ]);
  const inputs = [...lines.map((a) => a.join(" ")), ...scripts.map((s) => `repl <<< ${s}`)];
  runs.forEach((r, i) => assert.deepEqual(checkCliRun(r), [], `${inputs[i]}\n${r.output}`));
  await Deno.remove(dir, { recursive: true });
});
