/**
 * Event kernel: schedule + dispatch of a trivial event, beside a bare binary-heap loop (the
 * anchor's data structure inlined: no cancel, no sinks, no ids) as the baseline. Each sink
 * reschedules itself with a fixed period; 64 pending events (periods 100..163 ns, as a small
 * world has) and 1000 (periods 500..1499 ns, the holds model's size); 200,000 dispatches per
 * iteration, so events/s = 200,000 / the reported time.
 */
import { type EventSink, Sim } from "../core/sim/sim.ts";

const EVENTS = 200_000;

class Tick implements EventSink {
  constructor(private readonly sim: Sim, private readonly period: number) {}
  onEvent(): void {
    this.sim.schedule(this.period, this, 0);
  }
}

/** Period of pending event k of n. */
const period = (k: number, n: number) => (n <= 64 ? 100 : 500) + k;

function bareHeap(pending: number): void {
  const t = new Float64Array(pending + 1), q = new Float64Array(pending + 1);
  const who = new Int32Array(pending + 1);
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
  for (let k = 0; k < pending; k++) push(k, k);
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
    push(now + period(w, pending), w);
  }
}

function kernel(pending: number): void {
  const sim = new Sim(1);
  for (let k = 0; k < pending; k++) sim.schedule(k, new Tick(sim, period(k, pending)), 0);
  for (let e = 0; e < EVENTS; e++) sim.step();
}

for (const pending of [64, 1000]) {
  const group = `kernel, ${pending} pending`;
  Deno.bench(`bare binary heap (baseline), ${pending} pending`, { group, baseline: true }, () => {
    bareHeap(pending);
  });
  Deno.bench(`gvtsim Sim.schedule + dispatch, ${pending} pending`, { group }, () => {
    kernel(pending);
  });
}
