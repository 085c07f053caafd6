/**
 * Event kernel: schedule + dispatch of a trivial event, beside a bare binary-heap loop (the
 * anchor's data structure inlined: no cancel, no sinks, no ids) as the baseline. Each sink
 * reschedules itself with a fixed period; 64 pending events (periods 100..163 ns, as a small
 * world has) and 1000 (periods 500..1499 ns, the holds model's size); 200,000 dispatches per
 * iteration, so events/s = 200,000 / the reported time.
 *
 *   deno bench bench/sim_bench.ts                  (wall time, one benchmark after the other)
 *   deno run -A bench/sim_bench.ts [--rounds 15]   (the two alternated in one process, CPU time
 *                                                    per iteration: fairer on a loaded machine)
 */
import process from "node:process";
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

/** CPU ns per event of one iteration. */
function cpuNs(f: (pending: number) => void, pending: number): number {
  const c0 = process.cpuUsage();
  f(pending);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / EVENTS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--rounds");
  const rounds = i >= 0 ? Number(Deno.args[i + 1]) : 15;
  for (const pending of [64, 1000]) {
    for (let w = 0; w < 5; w++) bareHeap(pending), kernel(pending); // warm-up
    const heap: number[] = [], sim: number[] = [], ratio: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let h: number, k: number;
      if (r % 2) k = cpuNs(kernel, pending), h = cpuNs(bareHeap, pending); // either goes first
      else h = cpuNs(bareHeap, pending), k = cpuNs(kernel, pending);
      heap.push(h), sim.push(k), ratio.push(h / k);
    }
    const f = (xs: number[], d = 1) =>
      `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}..${Math.max(...xs).toFixed(d)}]`;
    console.log(
      `${pending} pending, CPU ns/event, median [min..max] of ${rounds}: bare heap ${f(heap)}, ` +
        `kernel ${f(sim)}; bare heap / kernel ${f(ratio, 2)}x`,
    );
  }
  console.log(`load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
} else {
  for (const pending of [64, 1000]) {
    const group = `kernel, ${pending} pending`;
    Deno.bench(`bare binary heap (baseline), ${pending} pending`, { group, baseline: true }, () => {
      bareHeap(pending);
    });
    Deno.bench(`gvtsim Sim.schedule + dispatch, ${pending} pending`, { group }, () => {
      kernel(pending);
    });
  }
}
