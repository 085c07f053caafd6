import assert from "node:assert/strict";
import { MS, Sim, US } from "../core/sim/sim.ts";
import type { Dist, MisbehaviourKind, WorkloadOp, WorkloadSpec } from "../core/scenario.ts";
import {
  type DriverPort,
  type MixCounts,
  sampleCount,
  sampleDist,
  WAIT,
  type Waker,
  WorkloadRunner,
} from "../core/workload/runner.ts";
import { Rng } from "../core/sim/rng.ts";

const loc = { file: "runner_test", line: 1, col: 1 };
const c = (v: number): Dist => ({ kind: "const", value: v });
const mix = { draw: c(1), blit: c(0), media: c(0), compute: c(0), store: c(2), lri: c(0) };

/** A port that logs calls; batches take 10 us, completion waits 100 us via WAIT. */
class LogPort implements DriverPort {
  readonly log: string[] = [];
  waker: Waker | null = null;
  constructor(private readonly sim: Sim) {}
  bind(w: Waker): void {
    this.waker = w;
  }
  /** Start-up time still to come (the first `ready` pays it). */
  bootNs = 0;
  ready(): number {
    const t = this.bootNs;
    if (t > 0) this.log.push(`${this.sim.now} boot`);
    this.bootNs = 0;
    return t;
  }
  submitBatch(engine: number, m: Readonly<MixCounts>): number {
    this.log.push(`${this.sim.now} batch ${engine} ${m.draw}/${m.store}`);
    return 10 * US;
  }
  flip(): number {
    this.log.push(`${this.sim.now} flip`);
    return 0;
  }
  waitCompletion(engine: number): number {
    this.log.push(`${this.sim.now} wait ${engine}`);
    const w = this.waker!;
    this.sim.spawn((function* () {
      yield 100 * US;
      w.wake();
    })());
    return WAIT;
  }
  waitVblank(): number {
    return 1 * MS;
  }
  mapPages(n: number): number {
    this.log.push(`map ${n}`);
    return n;
  }
  unmapPages(n: number): number {
    this.log.push(`unmap ${n}`);
    return n;
  }
  pteRewrite(n: number): number {
    this.log.push(`pte ${n}`);
    return n;
  }
  misbehave(kind: MisbehaviourKind, count: number): number {
    this.log.push(`misbehave ${kind} ${count}`);
    return 0;
  }
}

function run(body: WorkloadOp[], until: number, seed = 1, bootNs = 0) {
  const sim = new Sim(seed);
  const port = new LogPort(sim);
  port.bootNs = bootNs;
  const spec: WorkloadSpec = { name: "w", body, loc };
  const r = new WorkloadRunner(sim, spec, port, sim.streams.stream("w"));
  r.spawn();
  sim.runUntil(until);
  return { r, port, sim };
}

Deno.test("runner: ops in order with their time; WAIT resumes on wake", () => {
  const { r, port } = run([
    { op: "batch", engine: "bcs", mix, loc },
    { op: "wait", what: "completion", loc },
    { op: "flip", loc },
    { op: "misbehave", kind: "ring_garbage", count: 2, loc },
  ], 1 * MS);
  assert.deepEqual(port.log, [
    "0 batch 1 1/2",
    "10000 wait -1",
    "110000 flip",
    "misbehave ring_garbage 2",
  ]);
  assert.equal(r.finished, true);
  assert.equal(r.counters.batches, 1);
  assert.equal(r.counters.misbehaviours, 1);
});

Deno.test("runner: a driver that must start first delays the step, which then runs whole", () => {
  const { port } = run(
    [
      { op: "batch", engine: "rcs", mix, loc },
      { op: "flip", loc },
    ],
    10 * MS,
    1,
    3 * MS,
  );
  assert.deepEqual(port.log, ["0 boot", "3000000 batch 0 1/2", "3010000 flip"]);
});

Deno.test("runner: repeat N, every period (with overrun), nested", () => {
  const { r, port } = run([
    { op: "repeat", count: 3, loc, body: [{ op: "map", pages: c(2), loc }] },
    {
      op: "every",
      period: 1 * MS,
      loc,
      body: [
        { op: "batch", engine: "rcs", mix, loc },
        { op: "think", duration: c(1.5 * MS), loc },
      ],
    },
  ], 10 * MS);
  assert.deepEqual(port.log.slice(0, 3), ["map 2", "map 2", "map 2"]);
  const batches = port.log.filter((l) => l.includes("batch")).map((l) => Number(l.split(" ")[0]));
  // Each iteration takes 1.51 ms > period: it overruns and restarts at once.
  assert.deepEqual(batches.slice(0, 3), [6, 1_510_006, 3_020_006]);
  assert.ok(r.counters.overruns >= 5);
  assert.equal(r.finished, false);
});

Deno.test("runner: every keeps its period when the body is short", () => {
  const { port } = run([
    { op: "every", period: 2 * MS, loc, body: [{ op: "batch", engine: "rcs", mix, loc }] },
  ], 9 * MS);
  const t = port.log.map((l) => Number(l.split(" ")[0]));
  assert.deepEqual(t, [0, 2 * MS, 4 * MS, 6 * MS, 8 * MS]);
});

Deno.test("runner: choose is weighted and seeded; a zero-time forever loop still advances", () => {
  const body: WorkloadOp[] = [{
    op: "repeat",
    count: "forever",
    loc,
    body: [{
      op: "choose",
      loc,
      options: [
        { weight: 3, body: [{ op: "map", pages: c(1), loc }] },
        { weight: 1, body: [{ op: "unmap", pages: c(1), loc }] },
      ],
    }],
  }];
  const a = run(body, 4000, 5), b = run(body, 4000, 5), d = run(body, 4000, 6);
  assert.deepEqual(a.port.log, b.port.log);
  assert.notDeepEqual(a.port.log, d.port.log);
  const maps = a.port.log.filter((l) => l.startsWith("map")).length;
  const share = maps / a.port.log.length;
  assert.ok(share > 0.65 && share < 0.85, `map share ${share}`);
  assert.ok(a.port.log.length > 1000);
});

Deno.test("runner: distributions", () => {
  const rng = new Rng(3, "d");
  assert.equal(sampleDist({ kind: "const", value: 4 }, rng), 4);
  for (let i = 0; i < 100; i++) {
    const u = sampleCount({ kind: "uniform", lo: 2, hi: 5 }, rng);
    assert.ok(u >= 2 && u <= 5 && Number.isInteger(u));
    assert.ok(sampleDist({ kind: "normal", mean: 0, sd: 10 }, rng) >= 0);
    assert.ok(sampleDist({ kind: "exp", mean: 5 }, rng) >= 0);
  }
});
