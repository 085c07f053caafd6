/**
 * The results database of a sweep (SQLite through Deno's built-in `node:sqlite`), one file
 * `results.db` in the sweep's directory:
 *
 * - `meta(key, value)`: `schema` ({@link SWEEP_SCHEMA}), `spec` (the sweep, JSON) and
 *   `params` (the scenario's parameters, JSON);
 * - `runs`: one row per run, keyed by `run` (its index in the grid): `point`, `seed`,
 *   `scenario_hash`, a column per scenario parameter (its value as written), scenario,
 *   hypervisor and policy names, the {@link RUN_METRICS}, `random_draws` and `error`;
 * - `vms`: one row per (run, vm) with the {@link VM_METRICS} and `latency_cdf` (JSON: the
 *   latency in ns at each of {@link CDF_PERCENTILES});
 * - `expectations`: one row per (run, expectation) with its outcome;
 * - `results`: per run, the line of runs.jsonl (full results as JSON).
 *
 * Every table is keyed by run (and vm or position), and nothing in it depends on wall-clock
 * time or on the order runs finished in, so the same sweep gives the same rows however it was
 * run: in one process, with any `-j`, or as shards merged afterwards.
 */

import { DatabaseSync } from "node:sqlite";
import type { ParamInfo } from "../dsl/mod.ts";
import type { Results } from "../core/metrics/results.ts";
import type { Axis, SweepSpec } from "./grid.ts";
import { isParamName, isReservedName, reservedNameMessage } from "../dsl/names.ts";
import { CDF_PERCENTILES, RUN_METRICS, VM_METRICS } from "./metrics.ts";
import type { RunOutput } from "./run_one.ts";

/** Version of the database layout. */
export const SWEEP_SCHEMA = "gvtsim.sweep/1";

/** The database's file name inside a sweep directory. */
export const DB_FILE = "results.db";

/** Columns of `runs` before the parameters (a parameter may not be named like one). */
const RUN_KEY_COLUMNS = ["run", "point", "seed", "scenario_hash"] as const;
/** Columns of `runs` after the parameters, before the metrics. */
const RUN_INFO_COLUMNS = ["scenario", "hypervisor", "scheduler"] as const;
/** Columns of `runs` after the metrics. */
const RUN_TAIL_COLUMNS = ["random_draws", "error"] as const;
/** Columns of `vms` before the metrics. */
const VM_INFO_COLUMNS = ["run", "vm", "position", "type", "state", "weight"] as const;

/** Names a scenario parameter may not have (they are columns of `runs` already). */
export const RESERVED_COLUMNS: readonly string[] = [
  ...RUN_KEY_COLUMNS,
  ...RUN_INFO_COLUMNS,
  ...RUN_METRICS.map((m) => m.name),
  ...RUN_TAIL_COLUMNS,
];

/** The scenario's parameters as the database records them. */
export interface StoredParam {
  /** Name (a column of `runs`). */
  name: string;
  /** Type (time, size, name ...). */
  kind: string;
  /** Default as written. */
  default: string;
  /** Swept by this sweep. */
  swept: boolean;
}

/** Everything recorded about one run. */
export interface RunRecord {
  /** Run index. */
  run: number;
  /** Grid point index. */
  point: number;
  /** Seed the run used. */
  seed: number;
  /** Hash of what determines the run's results apart from the seed. */
  hash: string;
  /** Every scenario parameter's value in this run. */
  params: Record<string, string>;
  /** What the run gave. */
  output: RunOutput;
}

/** One row of `runs` as read back. */
export type RunRow = Record<string, string | number | null>;

const q = (name: string) => `"${name}"`;

/** Converts the params of a load into what the database stores. */
export function storedParams(params: readonly ParamInfo[], spec: SweepSpec): StoredParam[] {
  return params.map((p) => ({
    name: p.name,
    kind: p.kind === "none" ? "number" : p.kind,
    default: p.defaultText,
    swept: spec.axes.some((a) => a.name === p.name),
  }));
}

/** Canonical JSON of a spec (keys in a fixed order, no undefined). */
export function specJson(spec: SweepSpec): string {
  return JSON.stringify({
    file: spec.file,
    axes: spec.axes.map((a) => ({ name: a.name, values: a.values })),
    seeds: spec.seeds,
    until: spec.until ?? null,
    hypervisor: spec.hypervisor ?? null,
  });
}

/** The sweep recorded in a database. */
export interface StoredSweep {
  /** The sweep. */
  spec: SweepSpec;
  /** The scenario's parameters. */
  params: StoredParam[];
}

/** A sweep's database, open. */
export class SweepDb {
  private constructor(readonly db: DatabaseSync, readonly stored: StoredSweep) {}

  /**
   * Opens `path`, creating it for `spec` when it is new. An existing database must hold the
   * same sweep (same spec and parameters): otherwise the reason, as one line.
   */
  static open(path: string, spec: SweepSpec, params: StoredParam[]): SweepDb | string {
    let exists = false;
    try {
      exists = Deno.statSync(path).isFile;
    } catch {
      // a new database
    }
    const db = new DatabaseSync(path);
    try {
      if (!exists) {
        createSchema(db, spec, params);
        return new SweepDb(db, { spec, params });
      }
      const stored = readStored(db);
      if (typeof stored === "string") {
        db.close();
        return `${path}: ${stored}`;
      }
      if (specJson(stored.spec) !== specJson(spec)) {
        db.close();
        return `${path} holds another sweep (${
          describeSpec(stored.spec)
        }); use another --out directory for ${describeSpec(spec)}`;
      }
      if (JSON.stringify(stored.params) !== JSON.stringify(params)) {
        db.close();
        return `${path}: the scenario's parameters changed since this sweep began (was ${
          stored.params.map((p) => p.name).join(", ") || "none"
        }, now ${params.map((p) => p.name).join(", ") || "none"}); use another --out directory`;
      }
      return new SweepDb(db, stored);
    } catch (e) {
      db.close();
      return `${path}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** Opens an existing database read-only-ish (for merge and report); the reason otherwise. */
  static openExisting(path: string): SweepDb | string {
    try {
      if (!Deno.statSync(path).isFile) return `${path} is not a file`;
    } catch {
      return `${path} does not exist (no sweep there)`;
    }
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (e) {
      return `${path}: ${e instanceof Error ? e.message : String(e)}`;
    }
    try {
      const stored = readStored(db);
      if (typeof stored === "string") {
        db.close();
        return `${path}: ${stored}`;
      }
      return new SweepDb(db, stored);
    } catch (e) {
      db.close();
      return `${path}: not a gvtsim sweep database (${e instanceof Error ? e.message : String(e)})`;
    }
  }

  /** Runs recorded without error, with their hashes (what a rerun may skip). */
  finishedRuns(): Map<number, string> {
    const out = new Map<number, string>();
    const rows = this.db.prepare(`SELECT run, scenario_hash FROM runs WHERE error IS NULL`).all();
    for (const r of rows) out.set(Number(r.run), String(r.scenario_hash));
    return out;
  }

  /** Records one run (replacing what was recorded for its index), in one transaction. */
  record(rec: RunRecord): void {
    const db = this.db;
    const { output: out } = rec;
    const r = out.results;
    db.exec("BEGIN");
    try {
      for (const t of ["runs", "vms", "expectations", "results"]) {
        db.prepare(`DELETE FROM ${t} WHERE run = ?`).run(rec.run);
      }
      const runCols = runColumns(this.stored.params);
      const runVals: (string | number | null)[] = [
        rec.run,
        rec.point,
        rec.seed,
        rec.hash,
        ...this.stored.params.map((p) => rec.params[p.name] ?? null),
        r?.scenario ?? null,
        r?.hypervisor.name ?? null,
        r?.scheduler.policy ?? null,
        ...RUN_METRICS.map((m) => (r ? m.get(r) : null)),
        r ? (out.randomDraws ? 1 : 0) : null,
        out.error ?? null,
      ];
      insert(db, "runs", runCols, runVals);
      if (r) {
        const vmCols = [...VM_INFO_COLUMNS, ...VM_METRICS.map((m) => m.name), "latency_cdf"];
        r.vms.forEach((vm, i) => {
          const cdf = out.latencyCdf[vm.name];
          insert(db, "vms", vmCols, [
            rec.run,
            vm.name,
            i,
            vm.type,
            vm.state,
            vm.weight,
            ...VM_METRICS.map((m) => m.get(vm)),
            cdf ? JSON.stringify(cdf) : null,
          ]);
        });
        r.expectations.forEach((e, i) => {
          insert(db, "expectations", EXPECT_COLUMNS, [
            rec.run,
            i,
            e.file,
            e.line,
            e.col,
            e.text,
            e.pass ? 1 : 0,
            typeof e.actual === "number" ? e.actual : String(e.actual),
            e.expected,
            e.unit ?? null,
          ]);
        });
      }
      insert(db, "results", ["run", "json"], [rec.run, jsonLine(rec)]);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }

  /** All rows of `runs`, in run order. */
  runs(): RunRow[] {
    return this.db.prepare(`SELECT * FROM runs ORDER BY run`).all() as RunRow[];
  }

  /** All rows of `vms`, by run and position. */
  vms(): RunRow[] {
    return this.db.prepare(`SELECT * FROM vms ORDER BY run, position`).all() as RunRow[];
  }

  /** The percentiles of the stored latency CDFs. */
  cdfPercentiles(): number[] {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'cdf_percentiles'`).get();
    return row ? JSON.parse(String(row.value)) : [...CDF_PERCENTILES];
  }

  /** The runs.jsonl lines, in run order. */
  jsonLines(): string[] {
    return this.db.prepare(`SELECT json FROM results ORDER BY run`).all().map((r) =>
      String(r.json)
    );
  }

  /** Every table's rows in key order (for comparing two databases). */
  dump(): Record<string, RunRow[]> {
    const out: Record<string, RunRow[]> = {};
    for (const [t, key] of TABLE_KEYS) {
      out[t] = this.db.prepare(`SELECT * FROM ${t} ORDER BY ${key}`).all() as RunRow[];
    }
    return out;
  }

  /**
   * Copies every row of another sweep database file into this one (`INSERT OR REPLACE`), in
   * one transaction. (Row by row: Deno's SQLite allows no ATTACH.)
   */
  absorb(path: string): void {
    const other = new DatabaseSync(path, { readOnly: true });
    try {
      this.db.exec("BEGIN");
      for (const [t, key] of TABLE_KEYS) {
        if (t === "meta") continue;
        const cols = this.db.prepare(`PRAGMA table_info(${t})`).all().map((c) => String(c.name));
        const ins = this.db.prepare(
          `INSERT OR REPLACE INTO ${t} (${cols.map(q).join(", ")}) VALUES (${
            cols.map(() => "?").join(", ")
          })`,
        );
        for (const row of other.prepare(`SELECT * FROM ${t} ORDER BY ${key}`).iterate()) {
          ins.run(...cols.map((c) => (row as RunRow)[c] ?? null));
        }
      }
      this.db.exec("COMMIT");
    } catch (e) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw e;
    } finally {
      other.close();
    }
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}

const EXPECT_COLUMNS = [
  "run",
  "position",
  "file",
  "line",
  "col",
  "text",
  "pass",
  "actual",
  "expected",
  "unit",
];

const TABLE_KEYS: readonly (readonly [string, string])[] = [
  ["meta", "key"],
  ["runs", "run"],
  ["vms", "run, position"],
  ["expectations", "run, position"],
  ["results", "run"],
];

function runColumns(params: readonly StoredParam[]): string[] {
  return [
    ...RUN_KEY_COLUMNS,
    ...params.map((p) => p.name),
    ...RUN_INFO_COLUMNS,
    ...RUN_METRICS.map((m) => m.name),
    ...RUN_TAIL_COLUMNS,
  ];
}

function insert(
  db: DatabaseSync,
  table: string,
  cols: readonly string[],
  vals: readonly (string | number | null)[],
): void {
  db.prepare(
    `INSERT INTO ${table} (${cols.map(q).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
  ).run(...vals);
}

function createSchema(db: DatabaseSync, spec: SweepSpec, params: StoredParam[]): void {
  const num = (n: string) => `${q(n)} REAL`;
  db.exec("BEGIN");
  db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
  db.exec(`CREATE TABLE runs (run INTEGER PRIMARY KEY, point INTEGER NOT NULL, seed INTEGER,
    scenario_hash TEXT NOT NULL, ${params.map((p) => `${q(p.name)} TEXT`).join(", ")}${
    params.length ? "," : ""
  } scenario TEXT, hypervisor TEXT, scheduler TEXT, ${
    RUN_METRICS.map((m) => num(m.name)).join(", ")
  },
    random_draws INTEGER, error TEXT)`);
  db.exec(`CREATE TABLE vms (run INTEGER NOT NULL, vm TEXT NOT NULL, position INTEGER NOT NULL,
    type TEXT, state TEXT, weight REAL, ${VM_METRICS.map((m) => num(m.name)).join(", ")},
    latency_cdf TEXT, PRIMARY KEY (run, position)) WITHOUT ROWID`);
  db.exec(`CREATE TABLE expectations (run INTEGER NOT NULL, position INTEGER NOT NULL,
    file TEXT, line INTEGER, col INTEGER, text TEXT, pass INTEGER, actual, expected TEXT,
    unit TEXT, PRIMARY KEY (run, position)) WITHOUT ROWID`);
  db.exec(`CREATE TABLE results (run INTEGER PRIMARY KEY, json TEXT NOT NULL)`);
  const meta = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?)`);
  meta.run("schema", SWEEP_SCHEMA);
  meta.run("spec", specJson(spec));
  meta.run("params", JSON.stringify(params));
  meta.run("cdf_percentiles", JSON.stringify(CDF_PERCENTILES));
  db.exec("COMMIT");
}

function readStored(db: DatabaseSync): StoredSweep | string {
  const rows = db.prepare(`SELECT key, value FROM meta`).all();
  const meta = new Map(rows.map((r) => [String(r.key), String(r.value)]));
  if (meta.get("schema") !== SWEEP_SCHEMA) {
    return `not a ${SWEEP_SCHEMA} database (schema ${meta.get("schema") ?? "missing"})`;
  }
  const s = JSON.parse(meta.get("spec") ?? "{}");
  const params = JSON.parse(meta.get("params") ?? "[]");
  const bad = specProblem(s) ?? paramsProblem(params);
  if (bad) return `not a gvtsim sweep database (${bad})`;
  const spec: SweepSpec = { file: s.file, axes: s.axes, seeds: s.seeds };
  if (s.until !== null && s.until !== undefined) spec.until = s.until;
  if (s.hypervisor !== null && s.hypervisor !== undefined) spec.hypervisor = s.hypervisor;
  return { spec, params };
}

/** A name a database may record for a parameter (what `param` and `-D` accept). */
function nameProblem(what: string, n: unknown): string | undefined {
  if (typeof n !== "string" || !isParamName(n)) {
    return `${what} has a malformed name`;
  }
  return isReservedName(n) ? reservedNameMessage(n, what) : undefined;
}

const isStrings = (x: unknown): boolean =>
  Array.isArray(x) && x.every((v) => typeof v === "string");

/** What is wrong with the `spec` meta value as read (JSON written by {@link specJson}). */
function specProblem(s: unknown): string | undefined {
  if (typeof s !== "object" || s === null) return "meta 'spec' is not an object";
  const o = s as Record<string, unknown>;
  if (typeof o.file !== "string") return "meta 'spec' has no file";
  if (!Array.isArray(o.axes)) return "meta 'spec' has no axes";
  for (const a of o.axes as unknown[]) {
    if (typeof a !== "object" || a === null) return "meta 'spec' has a malformed axis";
    const bad = nameProblem("a swept parameter", (a as Axis).name);
    if (bad) return bad;
    if (!isStrings((a as Axis).values)) return `axis ${(a as Axis).name} has malformed values`;
  }
  if (!Array.isArray(o.seeds) || !o.seeds.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    return "meta 'spec' has malformed seeds";
  }
  if (o.until != null && !(typeof o.until === "number" && o.until >= 0)) {
    return "meta 'spec' has a malformed until";
  }
  if (o.hypervisor != null && typeof o.hypervisor !== "string") {
    return "meta 'spec' has a malformed hypervisor";
  }
  return undefined;
}

/** What is wrong with the `params` meta value as read (a {@link StoredParam} list). */
function paramsProblem(ps: unknown): string | undefined {
  if (!Array.isArray(ps)) return "meta 'params' is not a list";
  for (const p of ps as unknown[]) {
    if (typeof p !== "object" || p === null) return "meta 'params' has a malformed entry";
    const o = p as Record<string, unknown>;
    const bad = nameProblem("a parameter", o.name);
    if (bad) return bad;
    if (typeof o.kind !== "string" || typeof o.default !== "string") {
      return `parameter ${o.name} has a malformed kind or default`;
    }
    if (typeof o.swept !== "boolean") return `parameter ${o.name} has a malformed 'swept'`;
  }
  return undefined;
}

/** One line of runs.jsonl: the run's identity and its full results. */
function jsonLine(rec: RunRecord): string {
  const o = rec.output;
  const line: {
    run: number;
    point: number;
    seed: number;
    scenario_hash: string;
    params: Record<string, string>;
    random_draws: boolean;
    error?: string;
    latency_cdf: { percentiles: readonly number[]; vms: Record<string, number[]> };
    results?: Results;
  } = {
    run: rec.run,
    point: rec.point,
    seed: rec.seed,
    scenario_hash: rec.hash,
    params: rec.params,
    random_draws: o.randomDraws,
    latency_cdf: { percentiles: CDF_PERCENTILES, vms: o.latencyCdf },
  };
  if (o.error !== undefined) line.error = o.error;
  if (o.results) line.results = o.results;
  return JSON.stringify(line);
}

/** `scenarios/x.gvt, policy in {gvt, gvirt-rr}, seeds 1..3` */
export function describeSpec(spec: SweepSpec): string {
  const axes = spec.axes.map((a) => `${a.name} in {${a.values.join(", ")}}`);
  const s = spec.seeds;
  const seeds = s.length === 0
    ? "the scenario's seed"
    : s.length > 2 && s.every((x, i) => i === 0 || x === s[i - 1] + 1)
    ? `seeds ${s[0]}..${s[s.length - 1]}`
    : `seeds ${s.join(",")}`;
  return [spec.file, ...axes, seeds].join(", ");
}
