/** Heap checkpoints for tamper tests, through the CLI as a user makes them. */

import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";
import { encodeSnapshot, type SnapshotFile } from "../core/snapshot.ts";
import type { CliResult } from "./task_util.ts";

/**
 * Runs `scenario` (DSL text) in `dir` whole, then again with a heap checkpoint at `at`, and
 * checks that the untouched checkpoint restores to the whole run's results. Returns the
 * checkpoint and `restore(x, name)`, which writes `x` with its content digest recomputed (as
 * anyone can) and runs `gvtsim run --restore` on it.
 */
export async function heapCheckpoint(dir: string, scenario: string, at: string): Promise<{
  good: SnapshotFile;
  restore: (x: SnapshotFile, name: string) => Promise<CliResult>;
}> {
  const file = `${dir}/scenario.gvt`, ck = `${dir}/ok.ckpt`;
  await Deno.writeTextFile(file, scenario);
  const full = await gvtsim("run", "-q", "--json", `${dir}/full.json`, file);
  assert.equal(full.code, 0, full.err);
  const saved = await gvtsim("run", "-q", "--checkpoint-at", at, "--checkpoint", ck, file);
  assert.equal(saved.code, 0, saved.err);
  const good = JSON.parse(await Deno.readTextFile(ck)) as SnapshotFile;
  assert.ok(good.heap, "a heap snapshot");
  const ok = await gvtsim("run", "-q", "--restore", ck, "--json", `${dir}/restored.json`);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(
    await Deno.readTextFile(`${dir}/restored.json`),
    await Deno.readTextFile(`${dir}/full.json`),
  );
  return {
    good,
    restore: async (x, name) => {
      const path = `${dir}/${name}.ckpt`;
      await Deno.writeTextFile(path, encodeSnapshot(x));
      return gvtsim("run", "-q", "--restore", path);
    },
  };
}
