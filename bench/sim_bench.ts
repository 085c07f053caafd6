/**
 * Event kernel: schedule + dispatch of a trivial event, beside a bare binary-heap loop (the
 * anchor's data structure inlined, no cancel, no sinks) as the baseline. 64 pending events,
 * 200,000 dispatches per iteration; events/s = 200,000 / the reported time.
 */
import { type EventSink, Sim } from "../core/sim/sim.ts";

const EVENTS = 200_000;
const PENDING = 64;

class Tick implements EventSink {
  constructor(private readonly sim: Sim, private readonly period: number) {}
  onEvent(): void {
    this.sim.schedule(this.period, this, 0);
  }
}

Deno.bench("bare binary heap (baseline)", { group: "kernel", baseline: true }, () => {
  const t = new Float64Array(PENDING + 1), q = new Float64Array(PENDING + 1);
  const who = new Int32Array(PENDING + 1);
  let n = 0, seq = 0;
  const push = (time: number, w: number) => {
    let i = n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p] < time || (t[p] === time && q[p] < seq)) break;
      t[i] = t[p], q[i] = q[p], who[i] = who[p];
      i = p;
    }
    t[i] = time, q[i] = seq++, who[i] = w;
  };
  for (let k = 0; k < PENDING; k++) push(k, k);
  for (let e = 0; e < EVENTS; e++) {
    const now = t[0], w = who[0];
    const lt = t[--n], lq = q[n], lw = who[n];
    let i = 0;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && (t[m + 1] < t[m] || (t[m + 1] === t[m] && q[m + 1] < q[m]))) m++;
      if (t[m] > lt || (t[m] === lt && q[m] > lq)) break;
      t[i] = t[m], q[i] = q[m], who[i] = who[m];
      i = m;
    }
    t[i] = lt, q[i] = lq, who[i] = lw;
    push(now + 100 + w, w);
  }
});

Deno.bench("gvtsim Sim.schedule + dispatch", { group: "kernel" }, () => {
  const sim = new Sim(1);
  for (let k = 0; k < PENDING; k++) sim.schedule(k, new Tick(sim, 100 + k), 0);
  for (let e = 0; e < EVENTS; e++) sim.step();
});
