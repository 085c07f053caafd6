/**
 * The sweep on a real Slurm: a single-node cluster on localhost (tests/slurm_cluster.ts)
 * runs the job array that `gvtsim sweep --emit slurm` prints; its last task merges the
 * shards, and the merged directory equals the sweep run in one process (rows and values).
 */
import assert from "node:assert/strict";
import { missingSlurm, startCluster } from "./slurm_cluster.ts";
import { sweep, SweepError } from "../sweep/sweep.ts";
import { mergeSweeps } from "../sweep/merge.ts";
import { DB_FILE } from "../sweep/db.ts";
import { dumpSweep as dump } from "./sweep_util.ts";

import { MAIN as main, ROOT as root } from "./cli_util.ts";
const scenario = `${root}scenarios/sweep.gvt`;

Deno.test("slurm: the emitted job array runs on a real cluster and merges to the in-process sweep", async () => {
  const missing = await missingSlurm();
  assert.deepEqual(
    missing,
    [],
    `Slurm is not installed (missing ${missing.join(", ")}); .ci/run installs slurmctld, ` +
      `slurmd, slurm-client and munge with apt-get`,
  );
  const tmp = await Deno.makeTempDir({ prefix: "gvtsim-slurm-test-" });
  const cluster = await startCluster();
  let job: string | undefined;
  try {
    const grid = ["-D", "workers=1,2", "--seeds", "1..2", "--until", "100ms"];
    const out = `${tmp}/study`;
    const emit = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        main,
        "sweep",
        scenario,
        ...grid,
        "--out",
        out,
        "--emit",
        "slurm",
        "--tasks",
        "2",
      ],
      cwd: tmp,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const script = new TextDecoder().decode(emit.stdout);
    assert.equal(emit.code, 0, new TextDecoder().decode(emit.stderr));
    assert.match(script, /#SBATCH --array=0-1/);
    await Deno.writeTextFile(`${tmp}/sweep.sbatch`, script);

    const sub = await cluster.run("sbatch", ["--parsable", `${tmp}/sweep.sbatch`], tmp);
    assert.equal(sub.code, 0, sub.err);
    job = sub.out.trim().split(";")[0];
    for (let i = 0;; i++) {
      const q = await cluster.run("squeue", ["-h", "-j", job, "-o", "%i %T"]);
      if (q.out.trim() === "") break;
      if (i > 1500) assert.fail(`the array job did not finish in 300 s: ${q.out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const logs = [...Deno.readDirSync(tmp)].filter((e) => e.name.startsWith("slurm-"))
      .map((e) => `${e.name}:\n${Deno.readTextFileSync(`${tmp}/${e.name}`)}`).join("\n");
    assert.equal(
      [...Deno.readDirSync(`${out}/shards`)].filter((e) => e.isDirectory).length,
      2,
      logs,
    );
    assert.ok(Deno.statSync(`${out}/${DB_FILE}`).isFile, `the last task merged:\n${logs}`);

    const local = await sweep({
      file: scenario,
      params: { workers: ["1", "2"] },
      seeds: [1, 2],
      until: 100e6,
      jobs: 1,
      out: `${tmp}/local`,
    });
    assert.ok(!(local instanceof SweepError), String(local));
    const merged = dump(out);
    assert.equal(merged.runs.length, 4);
    assert.deepEqual(merged, dump(`${tmp}/local`));
    // and `sweep merge` of the shards the array left gives the same again
    assert.deepEqual(await mergeSweeps([`${out}/shards/0`, `${out}/shards/1`], `${tmp}/again`), {
      runs: 4,
    });
    assert.deepEqual(dump(`${tmp}/again`), merged);
    for (const f of ["runs.jsonl", "summary.csv", "report.html"]) {
      assert.equal(
        await Deno.readTextFile(`${out}/${f}`),
        await Deno.readTextFile(`${tmp}/local/${f}`),
        f,
      );
    }
    job = undefined;
  } finally {
    if (job !== undefined) await cluster.cancel(job);
    await cluster.stop();
    const ps = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output();
    const left = new TextDecoder().decode(ps.stdout).split("\n").filter((l) =>
      l.includes(cluster.dir)
    );
    assert.deepEqual(left, [], "every daemon the test started has stopped");
    await Deno.remove(tmp, { recursive: true });
  }
});
