/**
 * Small helpers for drawing SVG charts as markup strings: escaping, scales, "nice" axis
 * ticks, time units and legends. Pure functions (no DOM), shared by the browser bundle and
 * the tests.
 */

/** Escapes text for HTML / SVG content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

/** A coordinate with one decimal (keeps the markup short). */
export function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** A number for a label: up to `digits` decimals, trailing zeros removed. */
export function num(v: number, digits = 2): string {
  const s = v.toFixed(digits);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/** A linear map from [d0, d1] to [r0, r1] (a zero-width domain maps to r0). */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0;
  return (v) => (span === 0 ? r0 : r0 + ((v - d0) / span) * (r1 - r0));
}

/** A 1, 2 or 5 times a power of ten step giving about `target` intervals over [0, max]. */
export function niceStep(max: number, target = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** Ticks 0, step, ... up to the first one >= max (at least [0, step]). */
export function ticks(max: number, target = 5, integer = false): number[] {
  let step = niceStep(max, target);
  if (integer) step = Math.max(1, Math.round(step));
  const out = [0];
  // Multiplying (not summing) keeps tick values free of accumulated rounding.
  for (let i = 1; out[out.length - 1] < max || out.length < 2; i++) {
    out.push(Math.round(i * step * 1e9) / 1e9);
  }
  return out;
}

/** A time unit for an axis spanning up to `maxNs`. */
export interface TimeUnit {
  /** Unit name (s, ms, us, ns). */
  name: string;
  /** Nanoseconds per unit. */
  ns: number;
}

/** The largest unit in which `maxNs` is at least 1 (ns below 1 us). */
export function timeUnit(maxNs: number): TimeUnit {
  if (maxNs >= 1e9) return { name: "s", ns: 1e9 };
  if (maxNs >= 1e6) return { name: "ms", ns: 1e6 };
  if (maxNs >= 1e3) return { name: "us", ns: 1e3 };
  return { name: "ns", ns: 1 };
}

/** Plot geometry: the SVG size and the inner plotting area. */
export interface Frame {
  /** SVG width. */
  w: number;
  /** SVG height. */
  h: number;
  /** Left edge of the plot area. */
  left: number;
  /** Right edge of the plot area. */
  right: number;
  /** Top edge of the plot area. */
  top: number;
  /** Bottom edge of the plot area. */
  bottom: number;
}

/** A frame of `w` x `h` with the given margins. */
export function frame(w: number, h: number, l: number, r: number, t: number, b: number): Frame {
  return { w, h, left: l, right: w - r, top: t, bottom: h - b };
}

/** The opening `<svg>` tag, scaled to its container's width. */
export function svgOpen(f: Frame, label: string): string {
  return `<svg class="chart-svg" viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="${
    esc(label)
  }">`;
}

/** Horizontal grid lines with labels at `ys` (value, label) and the y-axis title. */
export function yAxis(
  f: Frame,
  y: (v: number) => number,
  marks: readonly (readonly [number, string])[],
  title: string,
): string {
  let s = "";
  for (const [v, label] of marks) {
    const yy = px(y(v));
    s += `<line class="grid" x1="${f.left}" x2="${f.right}" y1="${yy}" y2="${yy}"/>`;
    s += `<text class="tick" x="${f.left - 6}" y="${yy}" text-anchor="end" dy="0.32em">${
      esc(label)
    }</text>`;
  }
  const cy = px((f.top + f.bottom) / 2);
  s += `<text class="axis-title" transform="translate(14 ${cy}) rotate(-90)" ` +
    `text-anchor="middle">${esc(title)}</text>`;
  return s;
}

/** The x axis: base line, ticks with labels at (value, label), and its title. */
export function xAxis(
  f: Frame,
  x: (v: number) => number,
  marks: readonly (readonly [number, string])[],
  title: string,
): string {
  let s = `<line class="axis" x1="${f.left}" x2="${f.right}" y1="${f.bottom}" y2="${f.bottom}"/>`;
  for (const [v, label] of marks) {
    const xx = px(x(v));
    s += `<line class="axis" x1="${xx}" x2="${xx}" y1="${f.bottom}" y2="${f.bottom + 4}"/>`;
    s += `<text class="tick" x="${xx}" y="${f.bottom + 16}" text-anchor="middle">${
      esc(label)
    }</text>`;
  }
  s += `<text class="axis-title" x="${px((f.left + f.right) / 2)}" y="${f.h - 6}" ` +
    `text-anchor="middle">${esc(title)}</text>`;
  return s;
}

/** An HTML legend: a swatch (colour, opacity) and a label per entry. */
export function legend(
  entries: readonly { label: string; color: string; opacity?: number }[],
): string {
  return `<ul class="legend">${
    entries.map((e) =>
      `<li><span class="swatch" style="background:${esc(e.color)};opacity:${
        e.opacity ?? 1
      }"></span>${esc(e.label)}</li>`
    ).join("")
  }</ul>`;
}

/** An integer with thousands separators: 1234567 -> "1,234,567". */
export function grouped(n: number): string {
  const s = String(Math.round(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return n < 0 ? `-${s}` : s;
}
