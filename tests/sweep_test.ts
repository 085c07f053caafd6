/**
 * `gvtsim sweep` end to end through the CLI: a 2 policies x 2 VM counts x 3 seeds grid with
 * -j 2 into SQLite, two shards merged equal to the unsharded sweep (rows and values), a rerun
 * skips what is there, and `gvtsim report DIR` redraws the report.
 */
import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";
import { dumpSweep as dump } from "./sweep_util.ts";
import { mergeSweeps } from "../sweep/merge.ts";
import { sweep, SweepError } from "../sweep/sweep.ts";

const GRID = [
  "scenarios/sweep.gvt",
  "-D",
  "policy=gvt,gvirt-rr",
  "-D",
  "workers=1,2",
  "-D",
  "min_fps=5",
  "--seeds",
  "1..3",
  "--until",
  "150ms",
];

Deno.test("sweep -j 2: a 2 x 2 x 3 grid gives 12 run rows; shards merged equal it", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const whole = `${tmp}/whole`;
    const r = await gvtsim("sweep", ...GRID, "-j", "2", "--out", whole);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /12 runs \(4 grid points x 3 seeds\), 12 to run with -j 2/);
    assert.match(r.err, /\[12\/12\] run \d+ \(policy=\S+ workers=\d min_fps=5, seed \d\): ok/);
    assert.match(r.err, /\[1\/12\] .*ETA \d+:\d\d/);

    const d = dump(whole);
    const runs = d.runs as Record<string, unknown>[];
    assert.equal(runs.length, 12);
    assert.deepEqual(runs.map((x) => x.run), [...Array(12).keys()]);
    assert.deepEqual(
      runs.map((x) => `${x.policy}/${x.workers}/${x.seed}`),
      ["gvt", "gvirt-rr"].flatMap((p) =>
        ["1", "2"].flatMap((w) => [1, 2, 3].map((s) => `${p}/${w}/${s}`))
      ),
    );
    assert.ok(runs.every((x) => x.error === null && x.random_draws === 1));
    assert.equal(new Set(runs.map((x) => x.scenario_hash)).size, 4, "one hash per grid point");
    // the game plus 1 or 2 workers per run
    assert.equal(d.vms.length, 12 * 1 + 6 * 1 + 6 * 2);
    assert.equal(d.expectations.length, 24);
    // seeds matter: the game's fps differs between seeds of one point
    const lat = (d.vms as Record<string, unknown>[]).filter((v) =>
      v.vm === "game" && v.run as number < 3
    )
      .map((v) => v.latency_p50_ns);
    assert.ok(new Set(lat).size > 1, `latencies per seed: ${lat}`);

    const jsonl = (await Deno.readTextFile(`${whole}/runs.jsonl`)).trim().split("\n");
    assert.equal(jsonl.length, 12);
    const first = JSON.parse(jsonl[0]);
    assert.deepEqual([first.run, first.seed, first.params.policy], [0, 1, "gvt"]);
    assert.equal(first.results.schema, "gvtsim.results/1");
    assert.equal(first.latency_cdf.vms.game.length, first.latency_cdf.percentiles.length);

    const csv = (await Deno.readTextFile(`${whole}/summary.csv`)).trim().split("\n");
    assert.equal(
      csv[0],
      "point,policy,workers,slice,draws,min_fps,vm,metric,unit,n,mean,sd,ci95_low,ci95_high",
    );
    const fps = csv.filter((l) => l.startsWith("0,gvt,1,") && l.includes(",game,fps,"));
    assert.equal(fps.length, 1);
    const [n, mean, sd, lo, hi] = fps[0].split(",").slice(-5).map(Number);
    assert.equal(n, 3);
    assert.ok(lo <= mean && mean <= hi && sd >= 0, fps[0]);

    const html = await Deno.readTextFile(`${whole}/report.html`);
    assert.match(html, /<title>gvtsim sweep: scenarios\/sweep\.gvt<\/title>/);
    assert.match(html, /fps \(all VMs, sum\)/);
    assert.match(html, /<h3>fps of game<\/h3>/);
    assert.match(html, /class="err"/, "error bars");
    assert.match(html, /Submission latency CDF per grid point/);
    assert.equal((html.match(/data-point="\d+" d="M/g) ?? []).length, 4, "one CDF per point");
    assert.doesNotMatch(html, /(src|href)="http/);

    // two shards, in parallel, merged
    const [a, b] = await Promise.all(
      [0, 1].map((i) =>
        gvtsim("sweep", ...GRID, "-j", "1", "--shard", `${i}/2`, "--out", `${tmp}/s${i}`, "-q")
      ),
    );
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    assert.equal((dump(`${tmp}/s0`).runs as unknown[]).length, 6);
    const m = await gvtsim("sweep", "merge", `${tmp}/s0`, `${tmp}/s1`, "--out", `${tmp}/merged`);
    assert.equal(m.code, 0, m.err);
    assert.deepEqual(dump(`${tmp}/merged`), d);
    for (const f of ["runs.jsonl", "summary.csv", "report.html"]) {
      assert.equal(
        await Deno.readTextFile(`${tmp}/merged/${f}`),
        await Deno.readTextFile(`${whole}/${f}`),
        f,
      );
    }
    // one shard alone is not the whole sweep
    assert.match(
      String(await mergeSweeps([`${tmp}/s0`], `${tmp}/partial`)),
      /6 of 12 runs are in none of the directories \(runs 1, 3, 5, 7, 9, 11\)/,
    );

    // a rerun skips everything; report DIR redraws the page
    const again = await sweep({
      file: "scenarios/sweep.gvt",
      params: { policy: ["gvt", "gvirt-rr"], workers: [1, 2], min_fps: [5] },
      seeds: [1, 2, 3],
      until: 150e6,
      out: whole,
    });
    assert.ok(!(again instanceof SweepError) && again.ran === 0 && again.skipped === 12);
    await Deno.remove(`${whole}/report.html`);
    const rep = await gvtsim("report", whole);
    assert.equal(rep.code, 0, rep.err);
    assert.equal(await Deno.readTextFile(`${whole}/report.html`), html);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
