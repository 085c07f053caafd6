/**
 * The report's charts, each a pure function from {@link Results} to HTML markup (an SVG and
 * its legend). The browser bundle calls them on load; the server uses {@link CHARTS} for the
 * figure titles and captions, so both sides agree on which charts exist.
 */

import type { Results } from "../../core/metrics/results.ts";
import { vmColor } from "./palette.ts";
import {
  esc,
  type Frame,
  frame,
  grouped,
  legend,
  linear,
  num,
  px,
  svgOpen,
  ticks,
  timeUnit,
  xAxis,
  yAxis,
} from "./svg.ts";

/** One chart of the report. */
export interface ChartSpec {
  /** Stable id (the container's `data-chart`). */
  id: string;
  /** Figure title. */
  title: string;
  /** One-sentence caption: what is plotted. */
  caption: string;
  /** Spans the full page width. */
  wide: boolean;
  /** Markup for the chart. */
  draw(r: Results): string;
}

const W = 640;
const H = 280;
/** Width of charts that span the whole page. */
const WIDE = 1240;

/** VM names: declaration order, then names seen only in the series or switches (sorted). */
export function vmNames(r: Results): string[] {
  const names = r.vms.map((v) => v.name);
  const known = new Set(names);
  const extra = new Set<string>();
  for (const k of [...Object.keys(r.series.share), ...Object.keys(r.series.queue)]) {
    if (!known.has(k)) extra.add(k);
  }
  for (const s of r.switches) if (s.to !== "idle" && !known.has(s.to)) extra.add(s.to);
  return [...names, ...[...extra].sort()];
}

function noData(f: Frame, label: string, message: string): string {
  return `${svgOpen(f, label)}<rect class="plot-bg" x="${f.left}" y="${f.top}" width="${
    f.right - f.left
  }" height="${f.bottom - f.top}"/><text class="no-data" x="${px((f.left + f.right) / 2)}" y="${
    px((f.top + f.bottom) / 2)
  }" text-anchor="middle">${esc(message)}</text></svg>`;
}

function vmLegend(r: Results, names: readonly string[]): string {
  const all = vmNames(r);
  return legend(names.map((n) => ({ label: n, color: vmColor(all, n) })));
}

/** The x axis for simulated time over [0, endNs]. */
function timeAxis(f: Frame, endNs: number): { x: (ns: number) => number; markup: string } {
  const unit = timeUnit(endNs);
  const end = endNs / unit.ns;
  const x0 = linear(0, end, f.left, f.right);
  const marks = ticks(end, 8).filter((v) => v <= end + 1e-9).map((v) => [v, num(v)] as const);
  return {
    x: (ns) => x0(ns / unit.ns),
    markup: xAxis(f, x0, marks, `simulated time (${unit.name})`),
  };
}

/** Lines of one value per VM per sample over simulated time. */
function seriesChart(
  r: Results,
  data: Record<string, number[]>,
  opts: { label: string; yTitle: string; percent: boolean },
): string {
  const f = frame(W, H, 56, 16, 12, 40);
  const names = vmNames(r).filter((n) => (data[n]?.length ?? 0) > 0);
  const t = r.series.t;
  if (t.length === 0 || names.length === 0) return noData(f, opts.label, "no samples recorded");
  const endNs = Math.max(r.simulatedNs, t[t.length - 1]);
  const { x, markup: xMarkup } = timeAxis(f, endNs);
  let maxV = 0;
  for (const n of names) for (const v of data[n]) if (v > maxV) maxV = v;
  const yTicks = opts.percent ? [0, 0.25, 0.5, 0.75, 1] : ticks(Math.max(1, maxV), 5, true);
  const y = linear(0, yTicks[yTicks.length - 1], f.bottom, f.top);
  const yMarks = yTicks.map((v) => [v, opts.percent ? `${num(v * 100)}%` : num(v)] as const);
  let s = svgOpen(f, opts.label) +
    `<rect class="plot-bg" x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${
      f.bottom - f.top
    }"/>` + yAxis(f, y, yMarks, opts.yTitle) + xMarkup;
  const all = vmNames(r);
  for (const n of names) {
    const vals = data[n];
    let d = "";
    const count = Math.min(vals.length, t.length);
    for (let i = 0; i < count; i++) {
      const xx = px(x(t[i]));
      const yy = px(y(vals[i]));
      d += i === 0 ? `M${xx} ${yy}` : `L${xx} ${yy}`;
    }
    s += `<path class="series" data-vm="${esc(n)}" d="${d}" stroke="${vmColor(all, n)}"><title>${
      esc(n)
    }</title></path>`;
  }
  return s + "</svg>" + vmLegend(r, names);
}

/** Render-engine share per VM over time (lines). */
export function shareChart(r: Results): string {
  return seriesChart(r, r.series.share, {
    label: "GPU render share over time per VM",
    yTitle: "render share",
    percent: true,
  });
}

/**
 * Queued workloads per VM over time: one lane per VM (small multiples sharing one scale),
 * each a step area, so that busy VMs do not hide each other.
 */
export function queueChart(r: Results): string {
  const label = "Queued workloads over time per VM";
  const data = r.series.queue;
  const t = r.series.t;
  const names = vmNames(r).filter((n) => (data[n]?.length ?? 0) > 0);
  const laneH = 46;
  const f = frame(WIDE, 12 + Math.max(1, names.length) * laneH + 40, 110, 16, 12, 40);
  if (t.length === 0 || names.length === 0) return noData(f, label, "no samples recorded");
  const endNs = Math.max(r.simulatedNs, t[t.length - 1]);
  const { x, markup } = timeAxis(f, endNs);
  let maxV = 1;
  for (const n of names) for (const v of data[n]) if (v > maxV) maxV = v;
  const all = vmNames(r);
  let s = svgOpen(f, label);
  names.forEach((n, li) => {
    const top = f.top + li * laneH;
    const base = top + laneH - 3;
    const y = linear(0, maxV, base, top + 5);
    const vals = data[n];
    const count = Math.min(vals.length, t.length);
    let mean = 0;
    let peak = 0;
    let d = `M${px(x(t[0]))} ${px(base)}`;
    for (let i = 0; i < count; i++) {
      const yy = px(y(vals[i]));
      d += i === 0 ? `V${yy}` : `H${px(x(t[i]))}V${yy}`;
      mean += vals[i];
      if (vals[i] > peak) peak = vals[i];
    }
    mean = count ? mean / count : 0;
    d += `H${px(x(t[count - 1]))}V${px(base)}Z`;
    const color = vmColor(all, n);
    s += `<rect class="lane${li % 2 ? " odd" : ""}" x="${f.left}" y="${top}" width="${
      f.right - f.left
    }" height="${laneH}"/>`;
    s += `<path class="area" data-vm="${esc(n)}" d="${d}" fill="${color}" stroke="${color}">` +
      `<title>${esc(`${n}: mean ${num(mean)}, max ${peak} queued`)}</title></path>`;
    s += `<text x="${f.left - 10}" y="${top + 18}" text-anchor="end">${esc(n)}</text>`;
    s += `<text class="tick" x="${f.left - 10}" y="${top + 33}" text-anchor="end">mean ${
      num(mean, 1)
    }, max ${peak}</text>`;
  });
  s += markup +
    `<text class="tick" x="${f.right}" y="${f.top - 2}" text-anchor="end">lane height = ${maxV} ` +
    `queued</text></svg>`;
  return s + vmLegend(r, names);
}

const PERCENTILES = [
  { key: "p50", label: "p50", opacity: 0.35 },
  { key: "p90", label: "p90", opacity: 0.6 },
  { key: "p99", label: "p99", opacity: 0.85 },
  { key: "max", label: "max", opacity: 1 },
] as const;

/** Submission-to-completion latency per VM: p50 / p90 / p99 / max bars. */
export function latencyChart(r: Results): string {
  const f = frame(W, H, 56, 16, 12, 40);
  const label = "Latency distribution per VM";
  const vms = r.vms.filter((v) => v.latency.count > 0);
  if (vms.length === 0) return noData(f, label, "no completed submissions");
  const maxNs = Math.max(...vms.map((v) => v.latency.max), 1);
  const unit = timeUnit(maxNs);
  const yTicks = ticks(maxNs / unit.ns, 5);
  const y = linear(0, yTicks[yTicks.length - 1], f.bottom, f.top);
  const all = vmNames(r);
  let s = svgOpen(f, label) +
    `<rect class="plot-bg" x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${
      f.bottom - f.top
    }"/>` + yAxis(f, y, yTicks.map((v) => [v, num(v)] as const), `latency (${unit.name})`);
  const band = (f.right - f.left) / vms.length;
  const barW = Math.min(28, (band * 0.8) / PERCENTILES.length);
  vms.forEach((vm, i) => {
    const color = vmColor(all, vm.name);
    const x0 = f.left + band * i + (band - barW * PERCENTILES.length) / 2;
    PERCENTILES.forEach((p, j) => {
      const v = vm.latency[p.key] / unit.ns;
      const top = y(v);
      s += `<rect class="bar" x="${px(x0 + j * barW)}" y="${px(top)}" width="${
        px(barW - 2)
      }" height="${px(f.bottom - top)}" fill="${color}" fill-opacity="${p.opacity}"><title>${
        esc(`${vm.name} ${p.label}: ${num(v, 3)} ${unit.name}`)
      }</title></rect>`;
    });
    s += `<text class="tick" x="${px(f.left + band * (i + 0.5))}" y="${
      f.bottom + 16
    }" text-anchor="middle">${esc(vm.name)}</text>`;
  });
  s += `<line class="axis" x1="${f.left}" x2="${f.right}" y1="${f.bottom}" y2="${f.bottom}"/>`;
  s += `<text class="axis-title" x="${px((f.left + f.right) / 2)}" y="${f.h - 6}" ` +
    `text-anchor="middle">VM (n = completed submissions)</text>`;
  return s + "</svg>" +
    legend(PERCENTILES.map((p) => ({ label: p.label, color: "#4a5568", opacity: p.opacity })));
}

/** Trap kinds in the results: mmio, gtt, pagetrack, cfg, then others sorted ("total" omitted). */
export function trapKinds(r: Results): string[] {
  const base = ["mmio", "gtt", "pagetrack", "cfg"];
  const extra = new Set<string>();
  for (const vm of r.vms) {
    for (const k of Object.keys(vm.traps)) if (k !== "total" && !base.includes(k)) extra.add(k);
  }
  return [...base, ...[...extra].sort()];
}

const KIND_OPACITY = [1, 0.72, 0.5, 0.32, 0.2, 0.12];

/** Trapped accesses per VM, stacked by kind (shades of the VM's colour). */
export function trapsChart(r: Results): string {
  const f = frame(W, H, 64, 16, 18, 40);
  const label = "Traps by kind per VM";
  const kinds = trapKinds(r);
  const sum = (t: Record<string, number>) => kinds.reduce((a, k) => a + (t[k] ?? 0), 0);
  const maxTotal = Math.max(0, ...r.vms.map((v) => sum(v.traps)));
  if (r.vms.length === 0 || maxTotal === 0) return noData(f, label, "no trapped accesses");
  const yTicks = ticks(maxTotal, 5, true);
  const y = linear(0, yTicks[yTicks.length - 1], f.bottom, f.top);
  const all = vmNames(r);
  let s = svgOpen(f, label) +
    `<rect class="plot-bg" x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${
      f.bottom - f.top
    }"/>` +
    yAxis(f, y, yTicks.map((v) => [v, grouped(v)] as const), "trapped accesses");
  const band = (f.right - f.left) / r.vms.length;
  const barW = Math.min(72, band * 0.6);
  r.vms.forEach((vm, i) => {
    const color = vmColor(all, vm.name);
    const x = f.left + band * i + (band - barW) / 2;
    let acc = 0;
    kinds.forEach((k, j) => {
      const v = vm.traps[k] ?? 0;
      if (v <= 0) return;
      const y1 = y(acc);
      const y2 = y(acc + v);
      acc += v;
      s +=
        `<rect class="bar stacked" x="${px(x)}" y="${px(y2)}" width="${px(barW)}" height="${
          px(y1 - y2)
        }" fill="${color}" fill-opacity="${KIND_OPACITY[Math.min(j, KIND_OPACITY.length - 1)]}">` +
        `<title>${esc(`${vm.name} ${k}: ${grouped(v)}`)}</title></rect>`;
    });
    s += `<text class="value" x="${px(x + barW / 2)}" y="${px(y(acc) - 5)}" ` +
      `text-anchor="middle">${esc(grouped(acc))}</text>`;
    s += `<text class="tick" x="${px(x + barW / 2)}" y="${f.bottom + 16}" text-anchor="middle">${
      esc(vm.name)
    }</text>`;
  });
  s += `<line class="axis" x1="${f.left}" x2="${f.right}" y1="${f.bottom}" y2="${f.bottom}"/>`;
  s += `<text class="axis-title" x="${px((f.left + f.right) / 2)}" y="${f.h - 6}" ` +
    `text-anchor="middle">VM</text>`;
  return s + "</svg>" +
    legend(kinds.map((k, j) => ({
      label: k,
      color: "#4a5568",
      opacity: KIND_OPACITY[Math.min(j, KIND_OPACITY.length - 1)],
    })));
}

/** One interval of GPU ownership. */
export interface Ownership {
  /** VM name or "idle". */
  vm: string;
  /** Start (ns). */
  from: number;
  /** End (ns). */
  to: number;
}

/**
 * GPU ownership intervals from the switch records, consecutive switches to the same VM
 * merged. The last interval ends at the simulated time, or at the last switch when the
 * records were capped (fewer records than the scheduler's switch count).
 */
export function ownership(r: Results): { intervals: Ownership[]; endNs: number; capped: boolean } {
  const sw = r.switches;
  const capped = r.scheduler.switches > sw.length && sw.length > 0;
  const endNs = capped ? sw[sw.length - 1].t : Math.max(r.simulatedNs, sw.at(-1)?.t ?? 0);
  const intervals: Ownership[] = [];
  for (let i = 0; i < sw.length; i++) {
    const to = i + 1 < sw.length ? sw[i + 1].t : endNs;
    const last = intervals[intervals.length - 1];
    if (last && last.vm === sw[i].to) last.to = to;
    else if (to > sw[i].t) intervals.push({ vm: sw[i].to, from: sw[i].t, to });
  }
  return { intervals, endNs, capped };
}

/** Which vGPU owned the render engine over time: one lane per VM (and idle). */
export function timelineChart(r: Results): string {
  const label = "Scheduler timeline";
  const { intervals, endNs, capped } = ownership(r);
  const names = vmNames(r);
  const lanes = [...names];
  if (intervals.some((iv) => iv.vm === "idle")) lanes.push("idle");
  const laneH = 26;
  const f = frame(W, 12 + lanes.length * laneH + 40, 80, 16, 12, 40);
  if (intervals.length === 0) return noData(frame(W, H, 80, 16, 12, 40), label, "no switches");
  const { x, markup } = timeAxis(f, endNs);
  let s = svgOpen(f, label);
  lanes.forEach((n, i) => {
    const top = f.top + i * laneH;
    s += `<rect class="lane${i % 2 ? " odd" : ""}" x="${f.left}" y="${top}" width="${
      f.right - f.left
    }" height="${laneH}"/>`;
    s += `<text class="tick" x="${f.left - 8}" y="${px(top + laneH / 2)}" text-anchor="end" ` +
      `dy="0.32em">${esc(n)}</text>`;
  });
  for (const iv of intervals) {
    const lane = lanes.indexOf(iv.vm);
    const x1 = x(iv.from);
    const w = Math.max(0.6, x(iv.to) - x1);
    s += `<rect class="own" x="${px(x1)}" y="${f.top + lane * laneH + 4}" width="${
      px(w)
    }" height="${laneH - 8}" fill="${vmColor(names, iv.vm)}"><title>${
      esc(`${iv.vm}: ${num(iv.from / 1e6, 3)}-${num(iv.to / 1e6, 3)} ms`)
    }</title></rect>`;
  }
  s += markup + "</svg>";
  const note = capped
    ? `<p class="note">Showing the first ${r.switches.length} of ${r.scheduler.switches} switches.</p>`
    : "";
  return s + vmLegend(r, lanes.filter((n) => n !== "idle")) + note;
}

/** The report's charts, in page order. */
export const CHARTS: readonly ChartSpec[] = [
  {
    id: "share",
    title: "GPU render share over time",
    caption: "Share of the render engine (RCS) each VM got in every sampling period.",
    wide: false,
    draw: shareChart,
  },
  {
    id: "timeline",
    title: "Scheduler timeline",
    caption: "Which vGPU owned the GPU, from the scheduler's switch records.",
    wide: false,
    draw: timelineChart,
  },
  {
    id: "latency",
    title: "Latency distribution",
    caption: "Submission-to-completion latency per VM: p50, p90, p99 and maximum.",
    wide: false,
    draw: latencyChart,
  },
  {
    id: "traps",
    title: "Traps by kind",
    caption: "Trapped guest accesses per VM, stacked by kind (darkest at the bottom).",
    wide: false,
    draw: trapsChart,
  },
  {
    id: "queue",
    title: "Queue depth over time",
    caption: "Workloads queued for each VM at every sample, one lane per VM on a shared scale.",
    wide: true,
    draw: queueChart,
  },
];
