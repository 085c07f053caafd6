/**
 * Streamed traces (issue 15): a streaming log hands settled records to its sink and keeps only
 * a ring of recent ones; the streamed file is the same as the trace rendered from memory;
 * `run --trace` writes through a staged file; the REPL spools its trace and `trace save`
 * writes all of it.
 */
import assert from "node:assert/strict";
import { TRACE_FLUSH_RECORDS, TraceLog, type TraceRecord } from "../core/metrics/trace.ts";
import { traceJson, traceProcesses, TraceWriter } from "../cli/trace.ts";
import { World } from "../core/world.ts";
import { loadScenario } from "../dsl/mod.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { runScenario } from "../cli/run.ts";
import { ReplSession } from "../cli/repl_session.ts";
import { demoResults, demoTrace } from "./fixtures/results_demo.ts";

const DEMO = new URL("../scenarios/demo.gvt", import.meta.url).pathname;

Deno.test("trace stream: settled records reach the sink in order; traps at the present wait", () => {
  const clock = { now: 0 };
  const got: TraceRecord[] = [];
  const log = new TraceLog();
  log.streamTo({ write: (rs) => got.push(...rs) }, clock, { recent: 10 });
  assert.ok(log.streaming);
  for (let i = 0; i < TRACE_FLUSH_RECORDS - 1; i++) log.instant(i, 1, 0, `e${i}`);
  assert.equal(got.length, 0, "nothing is written before the buffer fills");
  clock.now = TRACE_FLUSH_RECORDS;
  const trap = log.instant(clock.now, 1, 10, "trap mmio ELSP write", 0, undefined, "trap")!;
  // The trap at the present stays (it may still gain a count); everything before it goes.
  assert.equal(got.length, TRACE_FLUSH_RECORDS - 1);
  assert.deepEqual(got.map((r) => r.ts), [...Array(TRACE_FLUSH_RECORDS - 1).keys()]);
  assert.deepEqual(log.unsettled(), [trap]);
  trap.args = { count: 2 };
  clock.now++;
  log.settle();
  assert.equal(got.at(-1), trap);
  assert.deepEqual(trap.args, { count: 2 });
  // Memory keeps a ring of the most recent records only.
  assert.equal(log.count, TRACE_FLUSH_RECORDS);
  assert.equal(log.records.length, 10);
  assert.deepEqual(log.last(3).map((r) => r.ts), [
    TRACE_FLUSH_RECORDS - 3,
    TRACE_FLUSH_RECORDS - 2,
    trap.ts,
  ]);
  log.counter(clock.now, 1, "queue depth", 3);
  log.flush();
  assert.equal(got.length, TRACE_FLUSH_RECORDS + 1);
  assert.equal(log.records.length, 10);
});

Deno.test("trace stream: a streamed cap drops later records and counts them", () => {
  const log = new TraceLog();
  const got: TraceRecord[] = [];
  log.streamTo({ write: (rs) => got.push(...rs) }, { now: 1e9 }, { cap: 5 });
  for (let i = 0; i < 8; i++) log.instant(i, 1, 0, "x");
  log.flush();
  assert.equal(got.length, 5);
  assert.equal(log.dropped, 3);
});

Deno.test("trace stream: a log streamed in pieces renders the same bytes as one held in memory", () => {
  const results = demoResults();
  const whole = traceJson(demoTrace(), results);
  const log = new TraceLog();
  const pieces: string[] = [];
  const writer = new TraceWriter((t) => pieces.push(t), traceProcesses(log, results));
  log.streamTo(writer, { now: Infinity });
  const src = demoTrace();
  for (const r of src.records) {
    if (r.ph === "X") log.slice(r.ts, r.dur, r.pid, r.tid, r.name, r.flow, r.args, r.cat);
    else if (r.ph === "i") log.instant(r.ts, r.pid, r.tid, r.name, r.flow, r.args, r.cat);
    else log.counter(r.ts, r.pid, r.name, r.value);
  }
  log.flush();
  writer.finish(log, results);
  assert.equal(pieces.join(""), whole);
});

Deno.test("trace stream: a world's streamed trace equals its trace kept in memory", async () => {
  const sc = loadScenario(DEMO).scenario!;
  const mem = await World.create(sc, { trace: true });
  const streamed = await World.create(sc, { trace: true });
  assert.ok(mem instanceof World && streamed instanceof World);
  const pieces: string[] = [];
  const writer = new TraceWriter((t) => pieces.push(t), traceProcesses(streamed.trace!));
  streamed.trace!.streamTo(writer, streamed.sim, { recent: 100 });
  mem.run(1.6e9);
  streamed.run(1.6e9);
  assert.ok(mem.trace!.count > 2 * TRACE_FLUSH_RECORDS, "the run spans several flushes");
  assert.equal(streamed.trace!.count, mem.trace!.count);
  assert.equal(streamed.trace!.records.length, 100, "only the recent records stay in memory");
  streamed.trace!.flush();
  writer.finish(streamed.trace!, collectResults(streamed));
  assert.equal(pieces.join(""), traceJson(mem.trace!, collectResults(mem)));
});

Deno.test("trace stream: run --trace writes through a staged file and leaves nothing else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.json`, "OLD TRACE\n");
    let seen: string[] = [];
    const r = await runScenario(DEMO, {
      until: 2e8,
      trace: `${dir}/t.json`,
      out: () => {},
      err: () => {},
      progress: false,
      // while the simulation runs, the trace is being written to a staged file next to it
      interrupts: {
        requested: () => {
          seen = [...Deno.readDirSync(dir)].map((e) => e.name);
          return false;
        },
        clear: () => {},
        request: () => {},
      },
    });
    assert.ok(r.results, "the run happened (its expectations may fail this early)");
    assert.ok(
      seen.some((n) => /^\.t\.json\..*\.tmp$/.test(n)),
      `staged file while running: ${seen}`,
    );
    assert.equal(Deno.readTextFileSync(`${dir}/t.json`).includes("OLD"), false);
    const t = JSON.parse(Deno.readTextFileSync(`${dir}/t.json`));
    assert.ok(t.traceEvents.length > 1000);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trace stream: the REPL keeps recent records and `trace save` writes the whole trace", async () => {
  const dir = await Deno.makeTempDir();
  const s = new ReplSession();
  try {
    assert.match(await s.exec(`load ${DEMO}`), /^loaded demo/);
    assert.match(await s.exec("run 1s"), /^ran 1s/);
    const w = s.world!;
    assert.ok(w.trace!.count > 4096, `${w.trace!.count} records`);
    assert.equal(w.trace!.records.length, 4096, "memory keeps the last 4096");
    assert.equal((await s.exec("trace 2")).split("\n").length, 2);
    const out = await s.exec(`trace save ${dir}/r.json`);
    assert.match(out, /^saved the trace \(\d+ records\) to /);
    const saved = JSON.parse(Deno.readTextFileSync(`${dir}/r.json`));
    const events = saved.traceEvents as { ph: string; args?: Record<string, number> }[];
    // every record since the load, not only the recent ones
    const fromRecords = events.filter((e) => e.ph === "X" || e.ph === "i" || e.ph === "C");
    assert.ok(fromRecords.length >= w.trace!.count, `${fromRecords.length} events`);
    assert.equal(saved.otherData.simulatedNs, w.sim.now);
    // the spool goes on: a later save holds more
    await s.exec("run 10ms");
    await s.exec(`trace save ${dir}/r2.json`);
    const later = JSON.parse(Deno.readTextFileSync(`${dir}/r2.json`)).traceEvents.length;
    assert.ok(later > events.length);
    assert.match(await s.exec("trace save"), /^error: usage: trace save <path>/);
    assert.match(
      await s.exec(`trace save ${DEMO}`),
      /^error: trace save .*is an input of this run/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["r.json", "r2.json"]);
  } finally {
    s.close();
    await Deno.remove(dir, { recursive: true });
  }
});
