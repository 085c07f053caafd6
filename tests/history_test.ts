/**
 * Bounded metric history (issue 15): latency quantiles in fixed memory within their stated
 * error, windows exact while their entries are kept and within one bin per edge after, and a
 * time series that stays bounded on long runs.
 */
import assert from "node:assert/strict";
import { LogHistogram } from "../core/metrics/histogram.ts";
import {
  BIN_LATENCY_BITS,
  CompletionHistory,
  HISTORY_EXACT,
  PointHistory,
  SpanHistory,
} from "../core/metrics/history.ts";
import { summarizeCompletions } from "../core/metrics/windows.ts";
import { summarizeLatency } from "../core/metrics/results.ts";
import { EXACT_LATENCY_SAMPLES, LATENCY_BITS, LatencyStats } from "../core/guest/metrics.ts";
import { parseScenarioText } from "../dsl/mod.ts";
import { SERIES_MAX, World } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Latency-like values: log-uniform between 1 us and 50 ms, integers. */
function latencies(n: number, seed: number): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => Math.round(1000 * Math.exp(r() * Math.log(50_000))));
}

function exactQuantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

Deno.test("histogram: every value's bucket middle lies within 2^-(bits+1) of it", () => {
  for (const bits of [4, 7]) {
    const h = new LogHistogram(bits, 40);
    const r = prng(bits);
    for (let k = 0; k < 20_000; k++) {
      const v = Math.floor(2 ** (r() * 39.9));
      const m = h.middle(h.index(v));
      assert.ok(Math.abs(m - v) <= Math.max(1, v * 2 ** -(bits + 1)), `${v} -> ${m}`);
    }
    // small values have a bucket each
    for (let v = 0; v < 2 << bits; v++) assert.equal(h.middle(h.index(v)), v);
  }
});

Deno.test("histogram: quantiles within the stated error of the exact nearest rank", () => {
  const xs = latencies(50_000, 3);
  for (const bits of [4, 7]) {
    const h = new LogHistogram(bits, 40);
    for (const x of xs) h.add(x);
    for (const p of [1, 10, 50, 90, 99, 99.9]) {
      const exact = exactQuantile(xs, p), got = h.quantile(p);
      assert.ok(Math.abs(got - exact) <= exact * 2 ** -(bits + 1), `p${p} ${got} vs ${exact}`);
    }
    assert.equal(h.quantile(100), Math.max(...xs));
  }
});

Deno.test("latency stats: exact up to the limit, then within 0.39%, in fixed memory", () => {
  const xs = latencies(3 * EXACT_LATENCY_SAMPLES, 11);
  const small = new LatencyStats(), large = new LatencyStats();
  for (const x of xs.slice(0, 1000)) small.record(x);
  for (const p of [50, 90, 99]) {
    assert.equal(small.percentile(p), exactQuantile(xs.slice(0, 1000), p));
  }
  for (const x of xs) large.record(x);
  assert.equal(large.count, xs.length);
  for (const p of [50, 90, 99]) {
    const exact = exactQuantile(xs, p), got = large.percentile(p);
    assert.ok(
      Math.abs(got - exact) <= exact * 2 ** -(LATENCY_BITS + 1),
      `p${p} ${got} vs ${exact}`,
    );
  }
  assert.deepEqual(large.quantiles([50, 99]), [large.percentile(50), large.percentile(99)]);
});

/** Busy spans back to back with gaps, as an engine runs workloads. */
function spans(n: number, seed: number): [number, number][] {
  const r = prng(seed), out: [number, number][] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    const start = t + Math.floor(r() * 20_000), end = start + 1000 + Math.floor(r() * 50_000);
    out.push([start, end]);
    t = end;
  }
  return out;
}

function exactOverlap(ss: [number, number][], from: number, to: number): number {
  let t = 0;
  for (const [a, b] of ss) t += Math.max(0, Math.min(b, to) - Math.max(a, from));
  return t;
}

Deno.test("span history: exact while kept; folded windows off by at most one bin per edge", () => {
  const ss = spans(2 * HISTORY_EXACT + 123, 5);
  const h = new SpanHistory();
  for (const [a, b] of ss) h.push(a, b);
  assert.equal(h.size, HISTORY_EXACT, "only the most recent are kept exactly");
  const end = ss.at(-1)![1], kept = ss[ss.length - HISTORY_EXACT][0];
  // a window over kept entries only: exact
  const mid = Math.floor((kept + end) / 2);
  assert.equal(h.overlap(mid, end), exactOverlap(ss, mid, end));
  // everything: nothing lost
  assert.equal(h.overlap(0, end + 1), exactOverlap(ss, 0, end + 1));
  // windows reaching into the folded part: within one bin's width per edge
  const r = prng(9);
  for (let k = 0; k < 60; k++) {
    const from = Math.floor(r() * end), to = from + Math.floor(r() * (end - from));
    const err = Math.abs(h.overlap(from, to) - exactOverlap(ss, from, to));
    assert.ok(err <= 2 * h.binNs, `[${from}, ${to}): off by ${err} (bin ${h.binNs})`);
  }
  // bins are whole multiples of the first width, so windows on bin edges are exact
  const edge = 3 * h.binNs;
  assert.equal(h.overlap(edge, edge + 5 * h.binNs), exactOverlap(ss, edge, edge + 5 * h.binNs));
});

Deno.test("point and completion histories: counts within one bin per edge, quantiles within 3.1%", () => {
  const n = 2 * HISTORY_EXACT + 77, r = prng(21);
  const ts: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) ts.push(t += 1 + Math.floor(r() * 40_000));
  const lat = latencies(n, 8);
  const frames = new PointHistory(), done = new CompletionHistory();
  ts.forEach((x, i) => {
    frames.push(x);
    done.push(x, lat[i]);
  });
  const count = (from: number, to: number) => ts.filter((x) => x >= from && x < to).length;
  const end = ts.at(-1)! + 1;
  assert.equal(frames.count(0, end), n);
  const all = summarizeCompletions(done.within(0, end));
  assert.equal(all.count, n);
  assert.equal(all.max, Math.max(...lat));
  for (const p of ["p50", "p90", "p99"] as const) {
    const exact = summarizeLatency(lat)[p];
    assert.ok(Math.abs(all[p] - exact) <= exact * 2 ** -(BIN_LATENCY_BITS + 1), `${p}`);
  }
  for (let k = 0; k < 100; k++) {
    const from = Math.floor(r() * end), to = from + Math.floor(r() * (end - from));
    const c = count(from, to);
    // off by at most the entries of the two bins the edges cut
    const w = frames.binNs, perBin = new Map<number, number>();
    for (const x of ts) perBin.set(Math.floor(x / w), (perBin.get(Math.floor(x / w)) ?? 0) + 1);
    const edge = (perBin.get(Math.floor(from / w)) ?? 0) + (perBin.get(Math.floor(to / w)) ?? 0);
    assert.ok(
      Math.abs(frames.count(from, to) - c) <= edge,
      `[${from}, ${to}): ${c} vs ${frames.count(from, to)}`,
    );
    assert.equal(summarizeCompletions(done.within(from, to)).count, frames.count(from, to));
  }
  // kept entries alone: exact
  const lastKept = ts[n - HISTORY_EXACT];
  const exact = lat.filter((_, i) => ts[i] >= lastKept);
  assert.deepEqual(summarizeCompletions(done.within(lastKept, end)), summarizeLatency(exact));
});

Deno.test("series: a long run's series stays bounded; merged samples keep the busy time", async () => {
  // a 50 us sampling period makes more than SERIES_MAX samples in 0.6 s
  const text = `scenario longseries
host skylake { aperture 512MiB; hypervisor kvm; scheduler gvt }
vm a { type V5_4; run spin }
workload spin { loop { rcs batch { draw 50 }; wait completion } }
timeline { run 600ms }
report { period 50us }
`;
  const sc = parseScenarioText(text, "longseries.gvt").scenario!;
  const w = await World.create(sc);
  assert.ok(w instanceof World);
  w.run(6e8);
  const r = collectResults(w);
  assert.ok(w.seriesStride >= 2, `stride ${w.seriesStride}`);
  assert.ok(r.series.t.length <= SERIES_MAX);
  assert.equal(r.series.periodNs, 50_000 * w.seriesStride);
  const last = r.series.t.at(-1)!;
  assert.equal(last % r.series.periodNs, 0);
  // the series' busy time equals the engine's busy time up to its last sample
  const busy = r.series.share.a.reduce((s, x) => s + x * r.series.periodNs, 0);
  const { busyAt } = await import("../core/metrics/windows.ts");
  const truth = busyAt(w.vms[0], 0, last);
  assert.ok(
    Math.abs(busy - truth) <= r.series.t.length * 0.5e-4 * r.series.periodNs,
    `${busy} vs ${truth}`,
  );
});
