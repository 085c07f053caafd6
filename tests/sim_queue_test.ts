/**
 * The kernel's event queue (a timing wheel, core/sim/queue.ts) against a trivially correct
 * model: a list searched for its (time, sequence)-least live entry. Random programs of
 * schedule / scheduleAt / cancel / step / runUntil / peek must dispatch the same events at the
 * same times and answer every call the same.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Sim } from "../core/sim/sim.ts";
import { MAX_TIME } from "../core/sim/queue.ts";

type Op =
  | { op: "schedule"; delay: number }
  | { op: "at"; at: number }
  | { op: "cancel"; pick: number }
  | { op: "step" }
  | { op: "until"; span: number }
  | { op: "peek" };

/** The model: pending entries in a list, the least (time, seq) live one found by a scan. */
class Model {
  now = 0;
  seq = 0;
  entries: { t: number; seq: number; id: number; live: boolean }[] = [];
  log: string[] = [];

  add(t: number, id: number): void {
    this.entries.push({ t: Math.max(t, this.now), seq: this.seq++, id, live: true });
  }
  cancel(id: number): boolean {
    const e = this.entries.find((x) => x.id === id && x.live);
    if (!e) return false;
    e.live = false;
    return true;
  }
  least(): { t: number; seq: number; id: number; live: boolean } | undefined {
    let best;
    for (const e of this.entries) {
      if (e.live && (!best || e.t < best.t || (e.t === best.t && e.seq < best.seq))) best = e;
    }
    return best;
  }
  step(limit = Infinity): boolean {
    const e = this.least();
    if (!e || e.t > limit) return false;
    e.live = false;
    this.now = e.t;
    this.log.push(`${e.t}:${e.id}`);
    return true;
  }
}

// delays of every magnitude, so events land on every level of the wheel and cascade
const delay = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 70_000 }),
  fc.integer({ min: 0, max: 2 ** 26 }),
  fc.integer({ min: 0, max: 2 ** 44 }),
  fc.integer({ min: 0, max: 2 ** 50 }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: delay.map((d) => ({ op: "schedule" as const, delay: d })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 2 ** 30 }).map((at) => ({ op: "at" as const, at })),
  },
  { weight: 2, arbitrary: fc.nat(1000).map((pick) => ({ op: "cancel" as const, pick })) },
  { weight: 4, arbitrary: fc.constant({ op: "step" as const }) },
  { weight: 2, arbitrary: delay.map((span) => ({ op: "until" as const, span })) },
  { weight: 1, arbitrary: fc.constant({ op: "peek" as const }) },
);

function check(ops: Op[]): void {
  const sim = new Sim(1), model = new Model();
  const ids: number[] = []; // sim's id of the model's i-th event
  const sink = { onEvent: (_k: number, arg: number) => void simLog.push(`${sim.now}:${arg}`) };
  const simLog: string[] = [];
  const schedule = (t: number, f: () => number) => {
    const i = ids.length;
    ids.push(f());
    model.add(t, i);
  };
  for (const o of ops) {
    switch (o.op) {
      case "schedule":
        schedule(model.now + o.delay, () => sim.schedule(o.delay, sink, 0, ids.length));
        break;
      case "at":
        schedule(o.at, () => sim.scheduleAt(o.at, sink, 0, ids.length));
        break;
      case "cancel": {
        if (ids.length === 0) break;
        const i = o.pick % ids.length;
        assert.equal(sim.cancel(ids[i]), model.cancel(i), `cancel #${i}`);
        break;
      }
      case "step":
        assert.equal(sim.step(), model.step());
        break;
      case "until": {
        const until = model.now + o.span;
        sim.runUntil(until);
        while (model.step(until));
        model.now = Math.max(model.now, until);
        break;
      }
      case "peek":
        assert.equal(sim.peekTime(), model.least()?.t ?? Infinity);
        break;
    }
    assert.equal(sim.now, model.now);
  }
  assert.deepEqual(
    sim.pendingEvents().map((e) => `${e.t}:${e.arg}`),
    model.entries.filter((e) => e.live).sort((a, b) => a.t - b.t || a.seq - b.seq).map((e) =>
      `${e.t}:${e.id}`
    ),
  );
  sim.run();
  while (model.step());
  assert.deepEqual(simLog, model.log);
  assert.equal(sim.scheduled, model.seq);
}

Deno.test("the queue dispatches in (time, sequence) order like a scanned list", () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 300 }), check), { numRuns: 300 });
});

Deno.test("many events at one time keep their scheduling order across cascades", () => {
  const sim = new Sim(), log: number[] = [];
  const sink = { onEvent: (_k: number, a: number) => void log.push(a) };
  // the same far time reached from several levels: scheduled early (high level) and late (level 0)
  const far = 3 * 2 ** 24 + 5;
  sim.schedule(far, sink, 0, 0);
  sim.schedule(far - 1, { onEvent: () => void sim.schedule(1, sink, 0, 2) }, 0);
  sim.schedule(far, sink, 0, 1);
  sim.runUntil(far - 200_000);
  sim.schedule(200_000, sink, 0, 3); // scheduled before 2, which is scheduled at far - 1
  sim.run();
  assert.deepEqual(log, [0, 1, 3, 2]);
});

Deno.test("a time past the wheel's range is refused", () => {
  const sim = new Sim(), sink = { onEvent() {} };
  assert.throws(() => sim.schedule(Infinity, sink, 0), RangeError);
  assert.throws(() => sim.scheduleAt(MAX_TIME + 2, sink, 0), RangeError);
  sim.scheduleAt(MAX_TIME, sink, 0);
  assert.equal(sim.peekTime(), MAX_TIME);
});
