/** Plain-text tables and unit formatting for terminal output. */

/** Left-aligns the first column, right-aligns the others. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** 536870912 -> "512MiB". */
export function formatBytes(n: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return `${n}B`;
}

/** Nanoseconds in the largest unit that keeps 3 significant digits: 1500000 -> "1.50ms". */
export function formatNs(ns: number): string {
  if (ns < 0) return `-${formatNs(-ns)}`;
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)}s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)}ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)}us`;
  return `${Math.round(ns)}ns`;
}

/**
 * A simulated time in the unit that fits, exact to the nanosecond (trailing zeros dropped):
 * `750ns`, `12.5us`, `2.013457ms`, `2.013456789s`, `10ms`.
 */
export function formatTime(ns: number): string {
  if (ns < 0) return `-${formatTime(-ns)}`;
  const n = Math.round(ns);
  const [digits, unit] = n >= 1e9
    ? [9, "s"]
    : n >= 1e6
    ? [6, "ms"]
    : n >= 1e3
    ? [3, "us"]
    : [0, "ns"];
  const text = (n / 10 ** digits).toFixed(digits);
  return (digits > 0 ? text.replace(/\.?0+$/, "") : text) + unit;
}

/** 0.1234 -> "12.3%". */
export function formatPct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}
