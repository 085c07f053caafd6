/**
 * Units of the scenario language and their conversion to the base units of
 * {@link ../core/scenario.ts}: integer nanoseconds for times, bytes for sizes.
 */

/** What a unit measures. */
export type Dimension = "time" | "size" | "rate" | "percent" | "resolution" | "none";

/** Time units -> nanoseconds. */
export const TIME_UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  ms: 1e6,
  s: 1e9,
};

/** Size units -> bytes. */
export const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

/** Rate units (per second). */
export const RATE_UNITS: Readonly<Record<string, number>> = { Hz: 1, fps: 1 };

/** Every unit suffix the language accepts. */
export const ALL_UNITS: readonly string[] = [
  ...Object.keys(TIME_UNITS),
  ...Object.keys(SIZE_UNITS),
  ...Object.keys(RATE_UNITS),
  "%",
];

/** Common misspellings and what they should be. */
export const UNIT_HINTS: Readonly<Record<string, string>> = {
  KB: "KiB",
  MB: "MiB",
  GB: "GiB",
  TB: "TiB",
  K: "KiB",
  M: "MiB",
  G: "GiB",
  sec: "s",
  msec: "ms",
  usec: "us",
  nsec: "ns",
  hz: "Hz",
  FPS: "fps",
  mb: "MiB",
  gb: "GiB",
  kb: "KiB",
};

/** What a misspelt unit should be ({@link UNIT_HINTS}), or undefined. */
export function unitHint(unit: string): string | undefined {
  return Object.hasOwn(UNIT_HINTS, unit) ? UNIT_HINTS[unit] : undefined;
}

/** Classifies a unit suffix ("" is a plain number). Returns undefined for unknown suffixes. */
export function dimensionOf(unit: string): Dimension | undefined {
  if (unit === "") return "none";
  if (Object.hasOwn(TIME_UNITS, unit)) return "time";
  if (Object.hasOwn(SIZE_UNITS, unit)) return "size";
  if (Object.hasOwn(RATE_UNITS, unit)) return "rate";
  if (unit === "%") return "percent";
  if (/^x\d+$/.test(unit)) return "resolution";
  return undefined;
}

/** A readable name of a dimension, for messages. */
export function dimensionName(d: Dimension): string {
  switch (d) {
    case "time":
      return "a time (ns, us, ms, s)";
    case "size":
      return "a size (B, KiB, MiB, GiB)";
    case "rate":
      return "a rate (Hz, fps)";
    case "percent":
      return "a percentage (%)";
    case "resolution":
      return "a resolution (WIDTHxHEIGHT)";
    case "none":
      return "a plain number";
  }
}

/** Formats bytes as the largest exact binary unit (e.g. `384 MiB`, `3.5 GiB`). */
export function formatSize(bytes: number): string {
  const units: [string, number][] = [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]];
  for (const [u, f] of units) {
    if (Math.abs(bytes) >= f) {
      const v = bytes / f;
      return `${Number.isInteger(v) ? v : Number(v.toFixed(2))} ${u}`;
    }
  }
  return `${bytes} B`;
}

/** Formats nanoseconds with the largest unit that keeps it readable (e.g. `1.5 s`, `16.7 ms`). */
export function formatTime(ns: number): string {
  const units: [string, number][] = [["s", 1e9], ["ms", 1e6], ["us", 1e3]];
  for (const [u, f] of units) {
    if (Math.abs(ns) >= f) return `${Number((ns / f).toFixed(3))}${u}`;
  }
  return `${ns}ns`;
}
