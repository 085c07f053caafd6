/**
 * Ctrl-C (issue 10): a run or a long REPL command stops cleanly, and the outputs it would have
 * replaced stay as they were, whether the stop comes during the simulation or the writes.
 */
import assert from "node:assert/strict";
import { interruptTask, scratch } from "./task_util.ts";
import { runScenario } from "../cli/run.ts";
import type { Interrupts } from "../cli/interrupt.ts";

Deno.test("outputs: Ctrl-C during a run stops it and leaves the previous outputs intact", async () => {
  const { dir, files } = await scratch();
  await Deno.writeTextFile(`${dir}/t.json`, "OLD TRACE\n");
  const r = await interruptTask(
    [
      "run",
      "s.gvt",
      "--until",
      "86400s",
      "--json",
      "old.json",
      "--trace",
      "t.json",
      "--checkpoint-at",
      "1us",
      "--checkpoint",
      "c.ckpt",
    ],
    () => {
      try {
        return Deno.statSync(`${dir}/c.ckpt`).isFile; // the simulation is under way
      } catch {
        return false;
      }
    },
    { cwd: dir },
  );
  assert.equal(r.code, 130, r.err);
  assert.match(r.err, /s\.gvt: error: interrupted at \d+ ns; no output written/);
  assert.ok(r.ms < 5000, `stopped in ${r.ms} ms`);
  const after = files();
  assert.equal(after["old.json"], "OLD\n");
  assert.equal(after["t.json"], "OLD TRACE\n");
  assert.deepEqual(Object.keys(after).sort(), ["c.ckpt", "old.json", "s.gvt", "t.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("outputs: a stop requested while outputs are being written keeps every old file", async () => {
  const { dir, files } = await scratch();
  await Deno.writeTextFile(`${dir}/r.html`, "OLD REPORT\n");
  // The stop arrives exactly while a staged (temporary) output exists.
  const staging = () => [...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".tmp"));
  const interrupts: Interrupts = { requested: staging, clear: () => {}, request: () => {} };
  let err = "";
  const r = await runScenario(`${dir}/s.gvt`, {
    until: 20e6,
    json: `${dir}/old.json`,
    report: `${dir}/r.html`,
    quiet: true,
    progress: false,
    out: () => {},
    err: (s) => void (err += s),
    interrupts,
  });
  assert.equal(r.code, 130);
  assert.match(err, /interrupted: no output written/);
  const after = files();
  assert.equal(after["old.json"], "OLD\n");
  assert.equal(after["r.html"], "OLD REPORT\n");
  assert.deepEqual(Object.keys(after).sort(), ["old.json", "r.html", "s.gvt"], "no temp file");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("repl: Ctrl-C stops a long piped run; the script ends with exit 130", async () => {
  const { dir } = await scratch();
  const r = await interruptTask(
    ["repl"],
    (out) => /gvtsim weights 0ns> $/.test(out),
    { cwd: dir, stdin: "load s.gvt\nrun 86400s\nvms\n" },
  );
  assert.equal(r.code, 130, r.out + r.err);
  assert.match(r.out, /interrupted after [\d.]+m?s: now [\d.]+m?s, \d+ events/);
  assert.doesNotMatch(r.out, /vm +state/, "the script stopped");
  assert.ok(r.ms < 5000, `stopped in ${r.ms} ms`);
  await Deno.remove(dir, { recursive: true });
});
