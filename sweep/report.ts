/**
 * The comparison report of a sweep, DIR/report.html: one self-contained page (inline CSS and
 * SVG, no script, no URL) with each charted metric against each swept parameter (the mean
 * over seeds with its 95% confidence interval as error bars, one line per combination of the
 * other parameters), the latency CDFs of all grid points overlaid, a table per grid point and
 * the table of runs. Built from the database alone, so `gvtsim report DIR` redraws it.
 */

import { pageStart } from "../cli/report.ts";
import { VM_COLORS } from "../cli/report_client/palette.ts";
import {
  esc,
  frame,
  grouped,
  legend,
  linear,
  num,
  px,
  svgOpen,
  ticks,
  xAxis,
  yAxis,
} from "../cli/report_client/svg.ts";
import { describeSpec, type RunRow, type SweepDb } from "./db.ts";
import { pointLabel } from "./grid.ts";
import { RUN_METRICS, VM_METRICS } from "./metrics.ts";
import { ALL_VMS, type MetricStat, type PointSummary } from "./summary.ts";

/** What the sweep's charts add to the report CSS: error bars and point markers. */
const SWEEP_CSS = `
.err{stroke-width:1.4}
.dot{stroke:#fff;stroke-width:1}
`;

const W = 600;
const H = 300;

/** Charted metrics: name, title, unit as plotted, scale from the stored unit. */
interface Charted {
  metric: string;
  title: string;
  axis: string;
  scale: number;
}

/** The metrics drawn against each parameter (the `chart` flags of sweep/metrics.ts). */
const CHARTED: readonly Charted[] = [
  ...VM_METRICS.filter((m) => m.chart).map((m) => charted(m.name, m.unit, m.combine)),
  ...RUN_METRICS.filter((m) => m.chart).map((m) => charted(m.name, m.unit, "run")),
];

/** Per-VM charts of the VMs present at every grid point. */
const PER_VM: readonly Charted[] = ["fps", "latency_p99_ns"].map((n) => {
  const m = VM_METRICS.find((x) => x.name === n)!;
  return charted(m.name, m.unit, "run");
});

/** VMs with statistics at every grid point, in declaration order (at most 4). */
function stableVms(points: readonly PointSummary[]): string[] {
  const names: string[] = [];
  for (const p of points) {
    for (const s of p.stats) if (s.vm !== ALL_VMS && !names.includes(s.vm)) names.push(s.vm);
  }
  return names.filter((vm) => points.every((p) => p.stats.some((s) => s.vm === vm))).slice(0, 4);
}

function charted(metric: string, unit: string, how: string): Charted {
  const what = how === "run" ? "" : how === "sum" ? " (all VMs, sum)" : " (VM mean)";
  if (unit === "ns") {
    return { metric, title: metric.replace(/_ns$/, "") + what, axis: "ms", scale: 1e-6 };
  }
  if (unit === "fraction") return { metric, title: metric + what, axis: "%", scale: 100 };
  return { metric, title: metric + what, axis: unit, scale: 1 };
}

/** The report page for a sweep's database and its per-point statistics. */
export function sweepReportHtml(db: SweepDb, points: readonly PointSummary[]): string {
  const spec = db.stored.spec;
  const runs = db.runs();
  const vms = db.vms();
  const failed = runs.filter((r) => Number(r.expects_failed ?? 0) > 0).length;
  const errors = runs.filter((r) => r.error !== null).length;
  // a parameter given one value is fixed, not swept: no chart against it
  const varied = spec.axes.filter((a) => a.values.length > 1).map((a) => a.name);
  const params = varied.length > 0 ? varied : [""];
  const charts = params.flatMap((x) => CHARTED.map((c) => metricChart(points, x, c, db)));
  const perVm = stableVms(points).flatMap((vm) =>
    PER_VM.filter((c) => points.some((p) => (stat(p, c.metric, vm)?.stat.mean ?? 0) > 0))
      .flatMap((c) =>
        params.map((x) => metricChart(points, x, { ...c, title: `${c.title} of ${vm}` }, db, vm))
      )
  );
  return pageStart(`gvtsim sweep: ${spec.file}`, SWEEP_CSS) +
    `<p>${esc(describeSpec(spec))} &middot; ${runs.length} runs at ${points.length} grid points` +
    ` &middot; ${failed} with failed expectations &middot; ${errors} that could not run</p></header>
<main>
<section id="params"><h2>Parameters</h2>${paramsTable(db)}</section>
<section id="charts"><h2>Metrics against parameters</h2>
<p class="note">Each point is the mean over the grid point's runs (its seeds); the bars are the
95% confidence interval of the mean (Student's t). One line per combination of the other
swept parameters.</p>
<div class="grid">${charts.join("")}</div></section>
<section id="per-vm"><h2>Per VM</h2>
<p class="note">VMs present at every grid point, each on its own (summary.csv has every VM and
metric).</p>
<div class="grid">${
      perVm.join("") || `<p class="muted">No VM is present at every grid point.</p>`
    }</div></section>
<section id="cdf"><h2>Latency distribution per grid point</h2>
<div class="grid">${cdfChart(points, runs, vms, db)}</div></section>
<section id="points"><h2>Grid points</h2>${pointsTable(points, db)}</section>
<section id="runs"><h2>Runs</h2>${runsTable(runs, db)}</section>
</main>
<footer>gvtsim &middot; sweep database <code>results.db</code> &middot; summary.csv has every
metric per grid point</footer>
</body>
</html>
`;
}

function paramsTable(db: SweepDb): string {
  const params = db.stored.params;
  if (params.length === 0) return `<p class="muted">The scenario declares no parameters.</p>`;
  const axes = db.stored.spec.axes;
  const rows = params.map((p) => {
    const axis = axes.find((a) => a.name === p.name);
    return `<tr><td class="l"><code>$${esc(p.name)}</code></td><td class="l">${esc(p.kind)}</td>` +
      `<td class="l">${esc(p.default)}</td><td class="l">${
        axis ? esc(axis.values.join(", ")) : `<span class="muted">default</span>`
      }</td></tr>`;
  }).join("");
  return `<div class="scroll"><table><thead><tr><th class="l">parameter</th>` +
    `<th class="l">type</th><th class="l">default</th><th class="l">swept values</th></tr>` +
    `</thead><tbody>${rows}</tbody></table></div>`;
}

function stat(p: PointSummary, metric: string, vm = ALL_VMS): MetricStat | undefined {
  return p.stats.find((s) => s.vm === vm && s.metric === metric);
}

/** Mean with error bars of one metric against one swept parameter (categorical x). */
function metricChart(
  points: readonly PointSummary[],
  param: string,
  c: Charted,
  db: SweepDb,
  vm = ALL_VMS,
): string {
  const f = frame(W, H, 64, 16, 14, 44);
  const label = `${c.title} against ${param || "the grid"}`;
  const axis = db.stored.spec.axes.find((a) => a.name === param);
  const xs = axis ? axis.values : ["(defaults)"];
  const others = db.stored.spec.axes.filter((a) => a.name !== param && a.values.length > 1)
    .map((a) => a.name);
  const series = new Map<string, PointSummary[]>();
  for (const p of points) {
    const key = pointLabel(Object.fromEntries(others.map((n) => [n, p.params[n]])));
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push(p);
  }
  let maxY = 0;
  for (const p of points) {
    const s = stat(p, c.metric, vm);
    if (s) maxY = Math.max(maxY, s.stat.ciHigh * c.scale, s.stat.mean * c.scale);
  }
  const yTicks = ticks(maxY > 0 ? maxY : 1, 5);
  const y = linear(0, yTicks[yTicks.length - 1], f.bottom, f.top);
  const slot = (f.right - f.left) / xs.length;
  const x = (i: number) => f.left + slot * (i + 0.5);
  const s =
    `<figure><h3>${esc(c.title)}</h3><p class="cap">${
      esc(`${c.axis} against ${param || "the grid"}: mean and 95% CI over seeds`)
    }</p>` + svgOpen(f, label) +
    `<rect class="plot-bg" x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${
      f.bottom - f.top
    }"/>` +
    yAxis(f, y, yTicks.map((v) => [v, num(v)] as const), c.axis) +
    xAxis(f, (i) => x(i), xs.map((v, i) => [i, v] as const), param ? `$${param}` : "");
  const entries: { label: string; color: string }[] = [];
  const nSeries = series.size;
  let lines = "", dots = "";
  [...series].forEach(([key, ps], si) => {
    const color = VM_COLORS[si % VM_COLORS.length];
    entries.push({ label: key, color });
    // spread the series a little inside each slot so error bars do not hide each other
    const dx = nSeries > 1 ? ((si / (nSeries - 1)) - 0.5) * slot * 0.3 : 0;
    let d = "";
    for (const p of ps) {
      const st = stat(p, c.metric, vm);
      const i = xs.indexOf(param ? p.params[param] : "(defaults)");
      if (!st || i < 0) continue;
      const xx = x(i) + dx;
      const my = y(st.stat.mean * c.scale);
      d += `${d ? "L" : "M"}${px(xx)} ${px(my)}`;
      const lo = px(y(st.stat.ciLow * c.scale)), hi = px(y(st.stat.ciHigh * c.scale));
      const tip = `${pointLabel(p.params)}: mean ${num(st.stat.mean * c.scale, 3)} ${c.axis}, ` +
        `95% CI ${num(st.stat.ciLow * c.scale, 3)} .. ${num(st.stat.ciHigh * c.scale, 3)}, ` +
        `n ${st.stat.n}`;
      dots +=
        `<g data-point="${p.point}"><line class="err" x1="${px(xx)}" x2="${px(xx)}" y1="${lo}"` +
        ` y2="${hi}" stroke="${color}"/><line class="err" x1="${px(xx - 4)}" x2="${
          px(xx + 4)
        }" y1="${lo}" y2="${lo}" stroke="${color}"/><line class="err" x1="${px(xx - 4)}" x2="${
          px(xx + 4)
        }" y1="${hi}" y2="${hi}" stroke="${color}"/><circle class="dot" cx="${px(xx)}" cy="${
          px(my)
        }" r="3.5" fill="${color}"><title>${esc(tip)}</title></circle></g>`;
    }
    if (d) lines += `<path class="series" d="${d}" stroke="${color}"/>`;
  });
  return s + lines + dots + "</svg>" + (others.length ? legend(entries) : "") + "</figure>";
}

/**
 * Submission latency CDF of each grid point, overlaid: the mean over the point's runs and
 * VMs of the latency at each kept percentile (log time axis).
 */
function cdfChart(
  points: readonly PointSummary[],
  runs: readonly RunRow[],
  vms: readonly RunRow[],
  db: SweepDb,
): string {
  const pcts = db.cdfPercentiles();
  const sweptNames = db.stored.spec.axes.map((a) => a.name);
  const f = frame(W * 2 + 14, H + 40, 64, 16, 14, 44);
  const label = "Submission latency CDF per grid point";
  const pointOf = new Map(runs.map((r) => [Number(r.run), Number(r.point)]));
  const curves = new Map<number, number[][]>();
  for (const v of vms) {
    if (typeof v.latency_cdf !== "string") continue;
    const cdf = JSON.parse(v.latency_cdf) as number[];
    const p = pointOf.get(Number(v.run));
    if (p === undefined || cdf.length !== pcts.length) continue;
    if (!curves.has(p)) curves.set(p, []);
    curves.get(p)!.push(cdf);
  }
  const cap = `<p class="cap">Fraction of submissions completed within a latency (ELSP write ` +
    `to completion), averaged over each grid point's runs and VMs; log time axis.</p>`;
  if (curves.size === 0) {
    return `<figure class="wide"><h3>${label}</h3>${cap}<p class="muted">No latency samples.</p>` +
      `</figure>`;
  }
  const mean = new Map<number, number[]>();
  for (const [p, list] of curves) {
    mean.set(p, list[0].map((_, i) => list.reduce((a, c) => a + c[i], 0) / list.length));
  }
  let lo = Infinity, hi = 0;
  for (const c of mean.values()) {
    for (const v of c) {
      if (v > 0) lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const d0 = Math.floor(Math.log10(Math.max(1, lo))), d1 = Math.ceil(Math.log10(Math.max(10, hi)));
  const lx = linear(d0, Math.max(d1, d0 + 1), f.left, f.right);
  const xOf = (ns: number) => lx(Math.log10(Math.max(ns, 10 ** d0)));
  const y = linear(0, 1, f.bottom, f.top);
  const marks: [number, string][] = [];
  for (let d = d0; d <= Math.max(d1, d0 + 1); d++) marks.push([d, timeLabel(10 ** d)]);
  let s = `<figure class="wide"><h3>${label}</h3>${cap}` + svgOpen(f, label) +
    `<rect class="plot-bg" x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${
      f.bottom - f.top
    }"/>` +
    yAxis(f, y, [0, 0.25, 0.5, 0.75, 1].map((v) => [v, `${v * 100}%`] as const), "completed") +
    xAxis(f, lx, marks, "latency (log scale)");
  const entries: { label: string; color: string }[] = [];
  for (const p of points) {
    const c = mean.get(p.point);
    if (!c) continue;
    const color = VM_COLORS[entries.length % VM_COLORS.length];
    entries.push({
      label: pointLabel(Object.fromEntries(sweptNames.map((n) => [n, p.params[n]]))),
      color,
    });
    const d = c.map((ns, i) => `${i ? "L" : "M"}${px(xOf(ns))} ${px(y(pcts[i] / 100))}`).join("");
    s += `<path class="series" data-point="${p.point}" d="${d}" stroke="${color}"><title>${
      esc(pointLabel(p.params))
    }</title></path>`;
  }
  return s + "</svg>" + legend(entries) + "</figure>";
}

function timeLabel(ns: number): string {
  if (ns >= 1e9) return `${num(ns / 1e9)}s`;
  if (ns >= 1e6) return `${num(ns / 1e6)}ms`;
  if (ns >= 1e3) return `${num(ns / 1e3)}us`;
  return `${num(ns)}ns`;
}

function fmt(v: number, unit: string): string {
  if (unit === "ns") return `${num(v / 1e6, 3)} ms`;
  if (unit === "fraction") return `${num(v * 100, 1)}%`;
  return num(v, 2);
}

/** Per grid point: runs and mean +- CI half-width of the charted metrics. */
function pointsTable(points: readonly PointSummary[], db: SweepDb): string {
  const names = db.stored.params.map((p) => p.name);
  const head = `<th>point</th>${names.map((n) => `<th class="l">$${esc(n)}</th>`).join("")}` +
    `<th>runs</th>` + CHARTED.map((c) => `<th>${esc(c.title)}</th>`).join("");
  const rows = points.map((p) => {
    const cells = CHARTED.map((c) => {
      const st = stat(p, c.metric);
      if (!st) return `<td><span class="muted">-</span></td>`;
      const unit = st.unit;
      const half = (st.stat.ciHigh - st.stat.ciLow) / 2;
      return `<td>${esc(fmt(st.stat.mean, unit))}${
        st.stat.n > 1 ? ` <span class="muted">&plusmn; ${esc(fmt(half, unit))}</span>` : ""
      }</td>`;
    }).join("");
    return `<tr><td>${p.point}</td>${
      names.map((n) => `<td class="l">${esc(p.params[n])}</td>`).join("")
    }<td>${p.runs}${
      p.errors ? ` <span class="fail">(${p.errors} failed)</span>` : ""
    }</td>${cells}</tr>`;
  }).join("");
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody>` +
    `</table></div><p class="note">Mean &plusmn; half the 95% confidence interval over the ` +
    `point's seeds. summary.csv has every metric, per VM and for the whole run.</p>`;
}

/** Every run: identity, swept values, a few whole-run numbers and its outcome. */
function runsTable(runs: readonly RunRow[], db: SweepDb): string {
  const names = db.stored.spec.axes.map((a) => a.name);
  const head = `<th>run</th><th>point</th><th>seed</th>` +
    names.map((n) => `<th class="l">$${esc(n)}</th>`).join("") +
    `<th class="l">scenario hash</th><th>switches</th><th>expectations</th>` +
    `<th>random draws</th><th class="l">error</th>`;
  const rows = runs.map((r) => {
    const passed = Number(r.expects_passed ?? 0), failed = Number(r.expects_failed ?? 0);
    const exp = r.error !== null
      ? `<span class="muted">-</span>`
      : `<span class="badge ${failed ? "fail" : "pass"}">${passed} / ${passed + failed}</span>`;
    return `<tr><td>${r.run}</td><td>${r.point}</td><td>${r.seed}</td>${
      names.map((n) => `<td class="l">${esc(String(r[n] ?? ""))}</td>`).join("")
    }<td class="l"><code>${esc(String(r.scenario_hash).slice(0, 12))}</code></td><td>${
      r.switches === null ? "-" : grouped(Number(r.switches))
    }</td><td>${exp}</td><td>${
      r.random_draws === null ? "-" : r.random_draws ? "yes" : "no"
    }</td>` +
      `<td class="l wrap">${r.error === null ? "" : esc(String(r.error).split("\n")[0])}</td></tr>`;
  }).join("");
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody>` +
    `</table></div>`;
}
