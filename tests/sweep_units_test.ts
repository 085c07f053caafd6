/**
 * Sweep pieces: the grid and its shards, statistics, progress and ETA, the Slurm script,
 * resuming after the scenario changed, the no-randomness warning, and bad input (exit 2).
 */
import assert from "node:assert/strict";
import {
  gridPoints,
  parseAxes,
  parseSeeds,
  parseShard,
  plannedRuns,
  shardRuns,
  splitValues,
} from "../sweep/grid.ts";
import { summarize, t975 } from "../sweep/stats.ts";
import { clock, SweepProgress } from "../sweep/progress.ts";
import { slurmScript } from "../sweep/slurm.ts";
import { sweep, SweepError } from "../sweep/sweep.ts";
import { DB_FILE, SweepDb } from "../sweep/db.ts";

Deno.test("grid: points vary the first axis slowest; runs are point x seed; shards partition", () => {
  const spec = {
    file: "x.gvt",
    axes: [{ name: "a", values: ["1", "2"] }, { name: "b", values: ["x", "y", "z"] }],
    seeds: [7, 8],
  };
  assert.deepEqual(gridPoints(spec).map((p) => p.defines.join(" ")), [
    "a=1 b=x",
    "a=1 b=y",
    "a=1 b=z",
    "a=2 b=x",
    "a=2 b=y",
    "a=2 b=z",
  ]);
  const runs = plannedRuns(spec);
  assert.equal(runs.length, 12);
  assert.deepEqual([runs[3].run, runs[3].point.point, runs[3].seed], [3, 1, 8]);
  const shards = [0, 1, 2].map((i) => shardRuns(runs, { index: i, count: 3 }).map((r) => r.run));
  assert.deepEqual(shards.flat().sort((x, y) => x - y), runs.map((r) => r.run));
  assert.deepEqual(shards[1], [1, 4, 7, 10]);
  assert.equal(plannedRuns({ file: "x.gvt", axes: [], seeds: [] }).length, 1);
});

Deno.test("grid: parsing -D lists, seeds and shards", () => {
  assert.deepEqual(splitValues('uniform(1ms, 2ms),exp(3ms),"a,b"'), [
    "uniform(1ms, 2ms)",
    "exp(3ms)",
    '"a,b"',
  ]);
  assert.deepEqual(parseAxes(["n=1,2", "p=gvt"]), [
    { name: "n", values: ["1", "2"] },
    { name: "p", values: ["gvt"] },
  ]);
  assert.match(String(parseAxes(["n=1,1"])), /listed twice/);
  assert.match(String(parseAxes(["n=1", "n=2"])), /given twice/);
  assert.match(String(parseAxes(["=1"])), /expected NAME=VALUE/);
  assert.deepEqual(parseSeeds("3..5"), [3, 4, 5]);
  assert.deepEqual(parseSeeds("9,2"), [9, 2]);
  assert.match(String(parseSeeds("5..3")), /empty/);
  assert.match(String(parseSeeds("1..1000000")), /at most/);
  assert.match(String(parseSeeds("x")), /expected a range/);
  assert.deepEqual(parseShard("1/4"), { index: 1, count: 4 });
  assert.match(String(parseShard("4/4")), /between 0 and N-1/);
  assert.match(String(parseShard("1-4")), /expected I\/N/);
});

Deno.test("stats: mean, sample sd and the t-based 95% CI", () => {
  const s = summarize([2, 4, 4, 4, 5, 5, 7, 9])!;
  assert.equal(s.n, 8);
  assert.equal(s.mean, 5);
  assert.ok(Math.abs(s.sd - 2.13809) < 1e-4);
  const half = 2.365 * s.sd / Math.sqrt(8);
  assert.ok(Math.abs(s.ciHigh - (5 + half)) < 1e-9 && Math.abs(s.ciLow - (5 - half)) < 1e-9);
  assert.deepEqual(summarize([3]), { n: 1, mean: 3, sd: 0, ciLow: 3, ciHigh: 3 });
  assert.equal(summarize([]), undefined);
  assert.equal(t975(2), 4.303);
  assert.ok(Math.abs(t975(1000) - 1.962) < 1e-3);
});

Deno.test("progress: one line per run with an ETA in a log; a bar on a terminal", () => {
  let now = 0;
  let text = "";
  const p = new SweepProgress((s) => void (text += s), 4, false, () => now);
  p.started();
  now = 2000;
  p.done("run 0", "ok", 2000);
  assert.equal(text, "[1/4] run 0: ok (2.0s), ETA 0:06\n");
  assert.equal(clock(3725), "1:02:05");
  let bar = "";
  const t = new SweepProgress((s) => void (bar += s), 2, true, () => now);
  t.started();
  t.done("run 0", "ok", 10);
  t.end();
  assert.match(bar, /\[#{12}-{12}\] 1\/2 runs, 0 running, .* elapsed, ETA /);
});

Deno.test("--emit slurm: an array of shards with a merge, valid bash", async () => {
  const script = slurmScript({
    file: "scenarios/sweep.gvt",
    defines: ["policy=gvt,gvirt-rr", "workers=1,2"],
    seeds: "1..5",
    out: "out/study",
    runs: 20,
  });
  assert.equal(typeof script, "string");
  const s = script as string;
  assert.match(s, /^#SBATCH --array=0-2$/m, "20 runs, 8 per task: 3 tasks");
  assert.match(s, /--shard "\$I\/\$TASKS"/);
  assert.match(s, /-D policy=gvt,gvirt-rr -D workers=1,2 --seeds 1\.\.5/);
  assert.match(s, /sweep merge "\$OUT"\/shards\/\*\/ --out "\$OUT"/);
  assert.match(s, /--allow-read --allow-write/);
  const check = await new Deno.Command("bash", { args: ["-n"], stdin: "piped" }).spawn();
  const w = check.stdin.getWriter();
  await w.write(new TextEncoder().encode(s));
  await w.close();
  assert.equal((await check.status).code, 0, "bash -n");
  const few = slurmScript({ file: "a.gvt", defines: [], out: "o", runs: 2, tasks: 9 }) as string;
  assert.match(few, /--array=0-1$/m, "never more tasks than runs");
});

const NO_DRAWS = `param n 1
vm w[$n] { type V5_8; run spin }
workload spin { loop { rcs batch { draw 20 }; wait completion } }
timeline { run 30ms }
expect fps(w1) >= 0
`;

Deno.test("sweep(): no-randomness warning, resume after a change, another sweep in DIR", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const file = `${tmp}/s.gvt`;
    await Deno.writeTextFile(file, NO_DRAWS);
    const out = `${tmp}/out`;
    let log = "";
    const opts = {
      file,
      params: { n: [1, 2] },
      seeds: [1, 2],
      jobs: 1,
      out,
      log: (s: string) => void (log += s),
    };
    const a = await sweep(opts);
    assert.ok(!(a instanceof SweepError), String(a));
    if (a instanceof SweepError) return;
    assert.equal(a.ran, 4);
    assert.match(
      a.warnings.join("\n"),
      /the scenario draws no random numbers: their 2 seeds give identical runs/,
    );
    assert.match(log, /warning: the scenario draws no random numbers/);

    // the scenario changes: every run is redone, and its rows replaced
    await Deno.writeTextFile(file, NO_DRAWS.replace("draw 20", "draw 30"));
    const b = await sweep(opts);
    assert.ok(!(b instanceof SweepError));
    if (b instanceof SweepError) return;
    assert.deepEqual([b.ran, b.skipped], [4, 0]);
    const c = await sweep(opts);
    assert.ok(!(c instanceof SweepError) && c.ran === 0 && c.skipped === 4);
    const db = SweepDb.openExisting(`${out}/${DB_FILE}`) as SweepDb;
    assert.equal(db.runs().length, 4);
    db.close();

    const other = await sweep({ ...opts, params: { n: [3] } });
    assert.ok(other instanceof SweepError);
    assert.match(other.message, /holds another sweep .*use another --out directory/);

    const bad = await sweep({ ...opts, params: { m: [1] }, out: `${tmp}/bad` });
    assert.ok(bad instanceof SweepError);
    assert.match(bad.message, /\(-D\):1:1: error: unknown parameter 'm'/);
    const unfit = await sweep({ ...opts, params: { n: [2, 9] }, out: `${tmp}/bad` });
    assert.ok(unfit instanceof SweepError);
    assert.match(unfit.message, /at grid point n=9:\n.*vm 'w7' does not fit/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("docs/experiments.md shows scenarios/sweep.gvt as it is", () => {
  const md = Deno.readTextFileSync(new URL("../docs/experiments.md", import.meta.url));
  const shown = /```gvt\n([\s\S]*?)```/.exec(md)![1];
  const file = Deno.readTextFileSync(new URL("../scenarios/sweep.gvt", import.meta.url));
  assert.ok(file.endsWith(shown), "the doc shows the scenario from its first param on");
});
