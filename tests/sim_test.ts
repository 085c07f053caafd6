import assert from "node:assert/strict";
import { MS, Sim, US, WAIT } from "../core/sim/sim.ts";
import { Rng, Streams } from "../core/sim/rng.ts";

function recorder(sim: Sim, log: string[]) {
  return { onEvent: (k: number, a: number) => void log.push(`${sim.now}:${k}:${a}`) };
}

Deno.test("events run in time order, equal times in insertion order", () => {
  const sim = new Sim();
  const log: string[] = [];
  const r = recorder(sim, log);
  sim.schedule(30, r, 3);
  sim.schedule(10, r, 1, 7);
  sim.schedule(10, r, 2, 8);
  sim.schedule(0, r, 0);
  sim.run();
  assert.deepEqual(log, ["0:0:0", "10:1:7", "10:2:8", "30:3:0"]);
});

Deno.test("cancel removes a pending event and only once", () => {
  const sim = new Sim();
  const log: string[] = [];
  const r = recorder(sim, log);
  const a = sim.schedule(5, r, 1);
  sim.schedule(6, r, 2);
  assert.equal(sim.cancel(a), true);
  assert.equal(sim.cancel(a), false);
  sim.run();
  assert.deepEqual(log, ["6:2:0"]);
  assert.equal(sim.cancel(a), false, "a recycled slot must not be cancelled by a stale id");
});

Deno.test("a stale id does not cancel the event that reuses its slot", () => {
  const sim = new Sim();
  const log: string[] = [];
  const r = recorder(sim, log);
  const a = sim.schedule(1, r, 1);
  sim.run();
  sim.schedule(1, r, 2); // reuses a's slot
  assert.equal(sim.cancel(a), false);
  sim.run();
  assert.deepEqual(log, ["1:1:0", "2:2:0"]);
});

Deno.test("runUntil stops at the bound and advances the clock; runFor is relative", () => {
  const sim = new Sim();
  const log: string[] = [];
  const r = recorder(sim, log);
  sim.schedule(10, r, 1);
  sim.schedule(20, r, 2);
  sim.runUntil(15);
  assert.deepEqual(log, ["10:1:0"]);
  assert.equal(sim.now, 15);
  sim.runFor(5);
  assert.deepEqual(log, ["10:1:0", "20:2:0"]);
  assert.equal(sim.now, 20);
  assert.equal(sim.step(), false);
});

Deno.test("step dispatches exactly one event; stop ends run", () => {
  const sim = new Sim();
  let n = 0;
  const s = {
    onEvent() {
      n++;
      if (n === 3) sim.stop();
      sim.schedule(1, s, 0);
    },
  };
  sim.schedule(0, s, 0);
  assert.equal(sim.step(), true);
  assert.equal(n, 1);
  sim.run();
  assert.equal(n, 3);
  assert.equal(sim.pending, 1);
});

Deno.test("generator processes sleep, wait and wake", () => {
  const sim = new Sim();
  const log: string[] = [];
  const p = sim.spawn((function* () {
    yield 3 * US;
    log.push(`a@${sim.now}`);
    yield WAIT;
    log.push(`b@${sim.now}`);
  })());
  sim.runUntil(1 * MS);
  assert.deepEqual(log, ["a@3000"]);
  p.wake();
  sim.run();
  assert.deepEqual(log, ["a@3000", `b@${MS}`]);
  assert.equal(p.done, true);
});

Deno.test("the queue grows past its initial capacity and stays ordered", () => {
  const sim = new Sim(7);
  const rng = sim.streams.stream("t");
  let last = -1;
  let count = 0;
  const s = {
    onEvent() {
      assert.ok(sim.now >= last);
      last = sim.now;
      count++;
    },
  };
  for (let i = 0; i < 5000; i++) sim.schedule(rng.int(0, 1000), s, 0);
  sim.run();
  assert.equal(count, 5000);
});

Deno.test("rng: same seed and name give the same stream; names are independent", () => {
  const a = new Rng(42, "vm:a"), b = new Rng(42, "vm:a"), c = new Rng(42, "vm:b");
  const xa = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(xa, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(xa, Array.from({ length: 5 }, () => c.nextU32()));
  // adding a stream does not change another stream's draws
  const s1 = new Streams(9), s2 = new Streams(9);
  s2.stream("extra-vm").next();
  assert.equal(s1.stream("vm:x").next(), s2.stream("vm:x").next());
});

Deno.test("rng: known first values pin the algorithm across engines", () => {
  const r = new Rng(1, "");
  // Golden values: any change to the seeding or the generator breaks every saved result.
  assert.deepEqual([r.nextU32(), r.nextU32(), r.nextU32()], [524027307, 3396390450, 2116637041]);
  const s = new Rng(3, "x");
  const saved = s.save();
  const v1 = s.next();
  s.restore(saved);
  assert.equal(s.next(), v1);
});

Deno.test("rng: distributions stay in range and have roughly the right mean", () => {
  const r = new Rng(5, "d");
  let sum = 0;
  for (let i = 0; i < 20000; i++) {
    const x = r.int(3, 9);
    assert.ok(x >= 3 && x <= 9);
    sum += r.exp(2);
  }
  assert.ok(Math.abs(sum / 20000 - 2) < 0.1);
});

Deno.test("a suspended process holds its resumption until resumed", () => {
  const sim = new Sim();
  const log: number[] = [];
  const p = sim.spawn((function* () {
    for (;;) {
      log.push(sim.now);
      yield 10;
    }
  })());
  sim.runUntil(25);
  p.suspend();
  sim.runUntil(100);
  assert.deepEqual(log, [0, 10, 20]);
  p.resume();
  sim.runUntil(115);
  assert.deepEqual(log, [0, 10, 20, 100, 110]);
});
