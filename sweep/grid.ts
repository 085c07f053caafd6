/**
 * The grid of a sweep: swept parameters (`-D NAME=V1,V2,...`) crossed with seeds, numbered
 * in one fixed order, and the deterministic slices (`--shard I/N`) of it.
 */

import { isParamName, isReservedName, reservedNameMessage } from "../dsl/names.ts";

/** One swept parameter: its values as written, in the order given. */
export interface Axis {
  /** Parameter name. */
  name: string;
  /** Values, as written (`1ms`, `gvirt-rr`, `exp(2ms)`). */
  values: string[];
}

/** What a sweep runs: the same description gives the same grid on any machine. */
export interface SweepSpec {
  /** The scenario file, as given. */
  file: string;
  /** Swept parameters, in the order given (the first varies slowest). */
  axes: Axis[];
  /** Seeds; empty means the scenario's own seed. */
  seeds: number[];
  /** Simulated time of each run (ns), overriding the scenario's. */
  until?: number;
  /** Hypervisor backend of each run, overriding the scenario's. */
  hypervisor?: string;
}

/** One grid point: a value for each swept parameter. */
export interface GridPoint {
  /** Index in grid order. */
  point: number;
  /** Value of each axis, by name. */
  values: Record<string, string>;
  /** The same as `-D NAME=VALUE` assignments. */
  defines: string[];
}

/** One run of the grid: a point and a seed. */
export interface PlannedRun {
  /** Index in grid order: `point * seeds + seed index`. */
  run: number;
  /** Its grid point. */
  point: GridPoint;
  /** Seed (undefined: the scenario's own). */
  seed?: number;
}

/** Every grid point, the first axis varying slowest. */
export function gridPoints(spec: SweepSpec): GridPoint[] {
  const out: GridPoint[] = [];
  const total = spec.axes.reduce((n, a) => n * a.values.length, 1);
  for (let p = 0; p < total; p++) {
    const values: Record<string, string> = {};
    let rest = p;
    for (let i = spec.axes.length - 1; i >= 0; i--) {
      const a = spec.axes[i];
      values[a.name] = a.values[rest % a.values.length];
      rest = Math.floor(rest / a.values.length);
    }
    const ordered: Record<string, string> = {};
    for (const a of spec.axes) ordered[a.name] = values[a.name];
    out.push({
      point: p,
      values: ordered,
      defines: spec.axes.map((a) => `${a.name}=${ordered[a.name]}`),
    });
  }
  return out;
}

/** Every run of the grid, in run order. */
export function plannedRuns(spec: SweepSpec): PlannedRun[] {
  const seeds = spec.seeds.length > 0 ? spec.seeds : [undefined];
  const out: PlannedRun[] = [];
  for (const point of gridPoints(spec)) {
    seeds.forEach((seed, i) => out.push({ run: point.point * seeds.length + i, point, seed }));
  }
  return out;
}

/** A shard `I/N`: the I-th (0-based) of N slices. */
export interface Shard {
  /** Which slice (0 .. count-1). */
  index: number;
  /** How many slices. */
  count: number;
}

/** The runs of one shard: every N-th run from the I-th on, so each shard mixes grid points. */
export function shardRuns(runs: readonly PlannedRun[], shard: Shard | undefined): PlannedRun[] {
  return shard ? runs.filter((r) => r.run % shard.count === shard.index) : [...runs];
}

/** Parses `I/N` (0 <= I < N); an error message otherwise. */
export function parseShard(text: string): Shard | string {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return `--shard ${text}: expected I/N, e.g. 0/4 (the first of 4 slices)`;
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) {
    return `--shard ${text}: I must be between 0 and N-1 (here 0..${Math.max(0, count - 1)})`;
  }
  return { index, count };
}

/** Most seeds a sweep may ask for (a typo like 1..1e9 must not queue a billion runs). */
export const MAX_SEEDS = 100_000;

/** Parses `--seeds`: `1..5`, `1,2,7` or `3` (each 0 .. 2^32-1); an error message otherwise. */
export function parseSeeds(text: string): number[] | string {
  const bad = `--seeds ${text}: expected a range A..B, a list 1,2,7 or one seed`;
  const range = /^(\d+)\.\.(\d+)$/.exec(text);
  if (range) {
    const a = Number(range[1]), b = Number(range[2]);
    if (a > b) return `--seeds ${text}: the range is empty (${a} > ${b})`;
    if (b > 2 ** 32 - 1) return `--seeds ${text}: seeds go up to ${2 ** 32 - 1}`;
    if (b - a + 1 > MAX_SEEDS) return `--seeds ${text}: at most ${MAX_SEEDS} seeds`;
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const parts = text.split(",");
  if (parts.some((p) => !/^\d+$/.test(p))) return bad;
  const seeds = parts.map(Number);
  if (seeds.some((s) => s > 2 ** 32 - 1)) return `--seeds ${text}: seeds go up to ${2 ** 32 - 1}`;
  if (new Set(seeds).size !== seeds.length) return `--seeds ${text}: a seed is listed twice`;
  return seeds;
}

/**
 * Parses the `-D` options of a sweep into axes: `NAME=V1,V2,...` (commas inside parentheses
 * or quotes belong to a value, as in `uniform(1ms, 2ms)`). An error message otherwise.
 */
export function parseAxes(defines: readonly string[]): Axis[] | string {
  const axes: Axis[] = [];
  for (const d of defines) {
    const eq = d.indexOf("=");
    const name = eq < 0 ? "" : d.slice(0, eq);
    if (!isParamName(name)) {
      return `-D ${d}: expected NAME=VALUE or NAME=V1,V2,... (a parameter name and its values)`;
    }
    if (isReservedName(name)) return reservedNameMessage(name, `-D ${name}`);
    if (axes.some((a) => a.name === name)) return `-D ${name} is given twice`;
    const values = splitValues(d.slice(eq + 1));
    if (values.some((v) => v.trim() === "")) return `-D ${d}: an empty value`;
    if (new Set(values).size !== values.length) return `-D ${d}: a value is listed twice`;
    axes.push({ name, values: values.map((v) => v.trim()) });
  }
  return axes;
}

/** Splits at commas outside parentheses and double quotes. */
export function splitValues(text: string): string[] {
  const out: string[] = [];
  let depth = 0, inStr = false, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** `policy=gvt workers=2` (how a point is named in messages and in the report). */
export function pointLabel(values: Record<string, string>): string {
  const parts = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(" ") : "(defaults)";
}
