/**
 * The checker: AST -> {@link Scenario} plus diagnostics. It resolves names, converts units
 * to ns / bytes, checks ranges, expands `vm name[N]`, and checks that every vGPU still fits
 * the host's graphics memory (docs/domain.md section 2) with the numbers behind the decision.
 */

import { pluginPathProblem } from "../core/mpt/loader.ts";
import { type MptOpName, OP_FAULT_WINDOW } from "../core/mpt/gate.ts";
import {
  type CommandMix,
  defaultHostSpec,
  type Dist,
  ENGINE_NAMES,
  type EngineName,
  type Expectation,
  type Expr,
  type FaultRule,
  type HostDecl,
  type HostSpec,
  type HypervisorSpec,
  type Loc,
  type MeasureWindow,
  type MigrationOptions,
  type MisbehaviourKind,
  type PolicyName,
  type Predicate,
  type ReportSpec,
  type Scenario,
  type SchedulerSpec,
  type TimelineAction,
  type TimelineEvent,
  type VgpuTypeSpec,
  type VmSpec,
  type WorkloadOp,
  type WorkloadSpec,
} from "../core/scenario.ts";
import {
  availableInstances,
  builtinTypes,
  findType,
  GSCALE_MAX_VGPU,
  GVT_MAX_VGPU,
  initialFree,
} from "../core/vgpu_types.ts";
import { MPT_OP_NAMES } from "../core/mpt/gate.ts";
import { DEFAULT_PLATFORM, platformOf } from "../core/hw/platform.ts";
import { registerNames, registerOffsetOrUndefined } from "../core/hw/regdefs.ts";

/** Every register name of the tables (for suggestions). */
const REGISTER_NAMES = registerNames();

/** A dword literal: decimal or 0x hex, below 2^32. */
function parseDwordLiteral(raw: string): number | undefined {
  const n = /^0x[0-9a-f]+$/i.test(raw)
    ? parseInt(raw.slice(2), 16)
    : /^[0-9]+$/.test(raw)
    ? Number(raw)
    : NaN;
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : undefined;
}
import type {
  ExprAst,
  FaultAst,
  HostStmtAst,
  ItemAst,
  NumLit,
  OpAst,
  PredicateAst,
  SettingAst,
  Span,
  TimelineStmtAst,
  ValueAst,
} from "./ast.ts";
import type { Diagnostic } from "./diagnostics.ts";
import { closest } from "../core/suggest.ts";
import {
  BOOL_WORDS,
  DISTRIBUTIONS,
  FAULT_ACTIONS,
  findFunction,
  GPU_PROFILES,
  HYPERVISORS,
  MIGRATE_OPTIONS,
  MISBEHAVIOURS,
  MIX_KINDS,
  PERCENTILES,
  POLICIES,
  REPORT_SETTINGS,
  REPORT_TABLES,
  RESULT_FUNCTIONS,
  type ResultFunction,
  SCHEDULER_PARAMS,
  TRAP_KINDS,
  VM_ACTIONS,
  VM_STATES,
} from "./functions.ts";
import {
  ALL_UNITS,
  type Dimension,
  dimensionName,
  dimensionOf,
  formatSize,
  formatTime,
  RATE_UNITS,
  SIZE_UNITS,
  TIME_UNITS,
  unitHint,
} from "./units.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const S = 1e9;

/** Default run length when the timeline has no `run`. */
export const DEFAULT_DURATION_NS = 10 * S;
/** Longest run a scenario (or `--until`) may ask for: 24 hours of simulated time (ns). */
export const MAX_RUN_NS = 24 * 3600 * S;
/** Default seed when neither the file nor the caller gives one. */
export const DEFAULT_SEED = 1;

/** Options of {@link checkItems}. */
export interface CheckOptions {
  /** Seed override (the CLI's `--seed`). */
  seed?: number;
  /** The parse had errors: skip "missing X" errors that recovery may have caused. */
  partial?: boolean;
}

/** Result of {@link checkItems}. */
export interface CheckResult {
  /** The scenario, when there was no error. */
  scenario?: Scenario;
  /** Semantic diagnostics in discovery order. */
  diagnostics: Diagnostic[];
}

type HostItem = Extract<ItemAst, { k: "host" }>;

/** `unknown X 'n'; expected one of: a, b (did you mean 'c'?)` */
export function unknownName(what: string, name: string, choices: readonly string[]): string {
  const best = closest(name, choices);
  const list = choices.length === 0
    ? `no ${what} is declared`
    : choices.length <= 14
    ? `expected one of: ${choices.join(", ")}`
    : `expected one of: ${choices.slice(0, 14).join(", ")}, ...`;
  return `unknown ${what} '${name}'; ${list}${best ? ` (did you mean '${best}'?)` : ""}`;
}

const unknown = unknownName;

/** `unknown vGPU type`, saying so when the name is the other graphics generation's. */
function unknownType(name: string, types: readonly VgpuTypeSpec[], gpu: string): string {
  const msg = unknown("vGPU type", name, types.map((t) => t.name));
  const p = platformOf(gpu) ?? DEFAULT_PLATFORM;
  const m = /^(?:GVTg_)?(V[45])_(\w+)$/.exec(name);
  if (!m || m[1] === p.typePrefix) return msg;
  return `${msg}; ${p.id} is gen${p.gen}, whose types are named ${p.typePrefix}_n (GVTg_${p.typePrefix}_n)`;
}

function loc(s: Span): Loc {
  return { file: s.file, line: s.line, col: s.col };
}

/** The checker (one per scenario). */
class Checker {
  readonly diags: Diagnostic[] = [];
  private vmNames = new Set<string>();
  private hostEngines: EngineName[] = [...ENGINE_NAMES];
  /** The named hosts (absent: one unnamed host). */
  private hostDecls: HostDecl[] | undefined;
  /** Each VM's host as the timeline's migrations so far leave it. */
  private readonly vmHost = new Map<string, string>();

  constructor(private readonly opts: CheckOptions) {}

  err(s: Span, message: string, note?: string): void {
    this.diags.push({
      file: s.file,
      line: s.line,
      col: s.col,
      len: s.len,
      severity: "error",
      message,
      note,
    });
  }

  warn(s: Span, message: string, note?: string): void {
    this.diags.push({
      file: s.file,
      line: s.line,
      col: s.col,
      len: s.len,
      severity: "warning",
      message,
      note,
    });
  }

  // ---- numbers and units ------------------------------------------------------------------

  /** Checks the unit of `n` is of dimension `dim` and returns the value in base units. */
  quantity(n: NumLit, dim: Dimension, what: string): number | undefined {
    const d = dimensionOf(n.unit);
    if (d === undefined) {
      const hint = unitHint(n.unit);
      const allowed = dim === "time"
        ? Object.keys(TIME_UNITS)
        : dim === "size"
        ? Object.keys(SIZE_UNITS)
        : dim === "rate"
        ? Object.keys(RATE_UNITS)
        : ALL_UNITS;
      this.err(
        n.span,
        `unknown unit '${n.unit}' in '${n.raw}'; expected one of: ${allowed.join(", ")}` +
          (hint ? ` (did you mean '${hint}'?)` : ""),
      );
      return undefined;
    }
    if (d !== dim) {
      if (d === "none") {
        this.err(
          n.span,
          `missing unit: ${what} is ${dimensionName(dim)}, write e.g. '${n.raw}${
            dim === "time" ? "ms" : dim === "size" ? "MiB" : dim === "rate" ? "Hz" : "%"
          }'`,
        );
      } else {
        this.err(
          n.span,
          `unit mismatch: ${what} is ${dimensionName(dim)} but '${n.raw}' is ${dimensionName(d)}`,
        );
      }
      return undefined;
    }
    switch (d) {
      case "time":
        return Math.round(n.value * TIME_UNITS[n.unit]);
      case "size":
        return Math.round(n.value * SIZE_UNITS[n.unit]);
      case "rate":
        return n.value * RATE_UNITS[n.unit];
      case "percent":
        return n.value / 100;
      default:
        return n.value;
    }
  }

  /** A time in ns within [min, max]. */
  time(n: NumLit, what: string, min = 0, max = 3600 * S): number | undefined {
    const v = this.quantity(n, "time", what);
    if (v === undefined) return undefined;
    if (v < min || v > max) {
      this.err(
        n.span,
        `value out of range: ${what} ${n.raw} must be between ${formatTime(min)} and ${
          formatTime(max)
        }`,
      );
      return undefined;
    }
    return v;
  }

  /** A size in bytes within [min, max]. */
  size(n: NumLit, what: string, min: number, max: number): number | undefined {
    const v = this.quantity(n, "size", what);
    if (v === undefined) return undefined;
    if (v < min || v > max) {
      this.err(
        n.span,
        `value out of range: ${what} ${n.raw} must be between ${formatSize(min)} and ${
          formatSize(max)
        }`,
      );
      return undefined;
    }
    return v;
  }

  /** A plain number within [min, max], integer unless `real`. */
  count(n: NumLit, what: string, min: number, max: number, real = false): number | undefined {
    const v = this.quantity(n, "none", what);
    if (v === undefined) return undefined;
    if (!real && !Number.isInteger(v)) {
      this.err(n.span, `${what} must be a whole number, found '${n.raw}'`);
      return undefined;
    }
    if (v < min || v > max) {
      this.err(n.span, `value out of range: ${what} ${n.raw} must be between ${min} and ${max}`);
      return undefined;
    }
    return v;
  }

  /** The single value of a setting. */
  one(s: SettingAst): ValueAst | undefined {
    if (s.values.length !== 1) {
      this.err(
        s.values[1]?.span ?? s.span,
        `'${s.key}' takes exactly one value, found ${s.values.length}`,
      );
      return undefined;
    }
    return s.values[0];
  }

  /** A 32-bit value written as decimal or 0x hex. */
  dword(v: ValueAst): number | undefined {
    const n = v.k === "num" ? parseDwordLiteral(v.num.raw) : undefined;
    if (n === undefined) {
      this.err(v.span, `${describe(v)} is not a dword; expected 0x hex or decimal below 2^32`);
    }
    return n;
  }

  /**
   * A register: a name from the register tables (core/hw/registers/, e.g. CACHE_MODE_1,
   * RCS_RING_MODE_GEN7, GEN9_GFX_MOCS(3)) or a BAR0 offset (0x hex or decimal, dword aligned).
   */
  register(v: ValueAst): number | undefined {
    const name = v.k === "id" ? v.name : v.k === "call" && v.args.length === 1 &&
        v.args[0].k === "num"
      ? `${v.name}(${v.args[0].num.raw})`
      : undefined;
    if (name !== undefined) {
      const off = registerOffsetOrUndefined(name);
      if (off === undefined) this.err(v.span, unknown("register", name, REGISTER_NAMES));
      return off;
    }
    const n = v.k === "num" ? parseDwordLiteral(v.num.raw) : undefined;
    if (n === undefined || n % 4 !== 0 || n >= 0x800000) {
      this.err(
        v.span,
        `${
          describe(v)
        } is not a register: expected a register name or a dword-aligned offset below 0x800000`,
      );
      return undefined;
    }
    return n;
  }

  numOf(v: ValueAst | undefined, what: string): NumLit | undefined {
    if (!v) return undefined;
    if (v.k !== "num") {
      this.err(v.span, `${what} must be a number, found ${describe(v)}`);
      return undefined;
    }
    return v.num;
  }

  bool(s: SettingAst): boolean | undefined {
    const v = this.one(s);
    if (!v) return undefined;
    if (v.k === "id" && Object.hasOwn(BOOL_WORDS, v.name)) return BOOL_WORDS[v.name];
    this.err(v.span, `'${s.key}' takes on or off, found ${describe(v)}`);
    return undefined;
  }

  /** A distribution of `dim` values (`2ms`, `exp(2ms)`, `uniform(1, 3)`, `normal(5ms, 1ms)`). */
  dist(v: ValueAst, dim: "time" | "none", what: string, min = 0, max = 1e12): Dist | undefined {
    const q = (n: ValueAst | undefined, w: string): number | undefined => {
      const num = this.numOf(n, w);
      if (!num) return undefined;
      const x = dim === "time" ? this.quantity(num, "time", w) : this.quantity(num, "none", w);
      if (x === undefined) return undefined;
      if (x < min || x > max) {
        this.err(num.span, `value out of range: ${w} ${num.raw} must be between ${min} and ${max}`);
        return undefined;
      }
      return x;
    };
    if (v.k === "num") {
      const x = q(v, what);
      return x === undefined ? undefined : { kind: "const", value: x };
    }
    if (v.k !== "call") {
      this.err(
        v.span,
        `${what} must be a number or a distribution (uniform(lo, hi), exp(mean), normal(mean, sd)), found ${
          describe(v)
        }`,
      );
      return undefined;
    }
    if (!Object.hasOwn(DISTRIBUTIONS, v.name)) {
      this.err(v.span, unknown("distribution", v.name, Object.keys(DISTRIBUTIONS)));
      return undefined;
    }
    const arity = DISTRIBUTIONS[v.name];
    if (v.args.length !== arity) {
      this.err(
        v.span,
        `${v.name}() takes ${arity} argument${arity > 1 ? "s" : ""}, found ${v.args.length}`,
      );
      return undefined;
    }
    const a = q(v.args[0], `${v.name}() argument`);
    const b = arity === 2 ? q(v.args[1], `${v.name}() argument`) : 0;
    if (a === undefined || b === undefined) return undefined;
    if (v.name === "uniform") {
      if (a > b) {
        this.err(v.span, `uniform(lo, hi) needs lo <= hi, found ${a} > ${b}`);
        return undefined;
      }
      return { kind: "uniform", lo: a, hi: b };
    }
    if (v.name === "exp") {
      if (a <= 0) {
        this.err(v.span, `exp(mean) needs a mean above 0`);
        return undefined;
      }
      return { kind: "exp", mean: a };
    }
    return { kind: "normal", mean: a, sd: b };
  }

  // ---- host --------------------------------------------------------------------------------

  /**
   * The host(s): one unnamed `host [GPU] {...}` as always, or several named ones
   * (`host a skylake {...}`), every one named. The first is the scenario's `host`.
   */
  host(
    items: ItemAst[],
  ): { host: HostSpec; hv: HypervisorSpec; sched: SchedulerSpec; decls?: HostDecl[] } {
    const hosts = items.filter((i): i is HostItem => i.k === "host");
    const named = hosts.filter((h) => h.name !== undefined);
    if (named.length === 0) {
      for (const h of hosts.slice(1)) {
        this.err(
          h.span,
          `duplicate host: a scenario has one host (first declared at ${hosts[0].span.file}:${
            hosts[0].span.line
          }); to declare several, name each: 'host a skylake { ... }'`,
        );
      }
      return this.hostOne(items, hosts[0]);
    }
    const decls: HostDecl[] = [];
    for (const h of hosts) {
      if (h.name === undefined) {
        this.err(
          h.span,
          `a host without a name among named hosts: name it too, e.g. 'host b ${
            h.gpu ?? "skylake"
          } { ... }'`,
        );
        continue;
      }
      const prev = decls.find((d) => d.name === h.name);
      if (prev) {
        this.err(
          h.nameSpan ?? h.span,
          `duplicate host '${h.name}' (first declared at ${prev.loc.file}:${prev.loc.line})`,
        );
        continue;
      }
      const one = this.hostOne(items, h);
      decls.push({
        name: h.name,
        host: one.host,
        hypervisor: one.hv,
        scheduler: one.sched,
        loc: loc(h.nameSpan ?? h.span),
      });
    }
    if (decls.length === 0) return this.hostOne(items, undefined);
    this.hostEngines = decls[0].host.engines;
    return { host: decls[0].host, hv: decls[0].hypervisor, sched: decls[0].scheduler, decls };
  }

  /** One host item (or the defaults when there is none). */
  hostOne(
    items: ItemAst[],
    h: HostItem | undefined,
  ): { host: HostSpec; hv: HypervisorSpec; sched: SchedulerSpec } {
    const host: HostSpec = defaultHostSpec();
    const mainFile = h?.span.file ?? items.find((i) => i.k === "host")?.span.file ?? "";
    let hv: HypervisorSpec = {
      name: "kvm",
      params: {},
      costs: {},
      faults: [],
      loc: { file: mainFile, line: 1, col: 1 },
    };
    let sched: SchedulerSpec = { policy: "gvt", params: {} };
    if (!h) return { host, hv, sched };
    if (h.gpu !== undefined && h.gpuSpan) {
      if (GPU_PROFILES.includes(h.gpu)) host.gpu = h.gpu;
      else this.err(h.gpuSpan, unknown("GPU profile", h.gpu, GPU_PROFILES));
    }
    const seen = new Map<string, Span>();
    let sawHv = false;
    let sawSched = false;
    for (const st of h.stmts) {
      if (st.k === "hypervisor") {
        if (sawHv) this.err(st.span, "duplicate hypervisor in host");
        sawHv = true;
        hv = this.hypervisor(st) ?? hv;
        continue;
      }
      if (st.k === "scheduler") {
        if (sawSched) this.err(st.span, "duplicate scheduler in host");
        sawSched = true;
        sched = this.scheduler(st.policy, st.span, st.settings) ?? sched;
        continue;
      }
      if (st.k === "cost") {
        if (!/^[0-9A-Z_]+$/.test(st.command)) {
          this.err(
            st.cmdSpan,
            `'${st.command}' is not a command name; expected an upper-case GPU command such as 3DPRIMITIVE or XY_SRC_COPY_BLT`,
          );
        }
        if (!st.value) {
          this.err(st.span, `cost ${st.command} needs a time, e.g. 'cost ${st.command} 2us'`);
          continue;
        }
        const t = this.time(st.value, `cost of ${st.command}`, 0, S);
        if (t !== undefined) host.commandCosts[st.command] = t;
        continue;
      }
      const s = st.setting;
      const prev = seen.get(s.key);
      if (prev) {
        this.err(s.span, `duplicate setting '${s.key}' (first set at line ${prev.line})`);
        continue;
      }
      seen.set(s.key, s.span);
      this.hostSetting(host, s);
    }
    if (host.aperture >= host.ggtt) {
      this.err(
        seen.get("aperture") ?? h.span,
        `aperture ${formatSize(host.aperture)} must be smaller than the GGTT (${
          formatSize(host.ggtt)
        })`,
      );
    }
    return { host, hv, sched };
  }

  hostSetting(host: HostSpec, s: SettingAst): void {
    const sizeOf = (min: number, max: number) => {
      const n = this.numOf(this.one(s), `'${s.key}'`);
      return n ? this.size(n, s.key, min, max) : undefined;
    };
    const countOf = (min: number, max: number) => {
      const n = this.numOf(this.one(s), `'${s.key}'`);
      return n ? this.count(n, s.key, min, max) : undefined;
    };
    switch (s.key) {
      case "aperture": {
        const v = sizeOf(64 * MiB, 4 * GiB);
        if (v !== undefined) host.aperture = v;
        return;
      }
      case "ggtt": {
        const v = sizeOf(256 * MiB, 4 * GiB);
        if (v !== undefined) host.ggtt = v;
        return;
      }
      case "fences": {
        const v = countOf(1, 32);
        if (v !== undefined) host.fences = v;
        return;
      }
      case "host_aperture": {
        const v = sizeOf(0, 4 * GiB);
        if (v !== undefined) host.hostAperture = v;
        return;
      }
      case "host_hidden": {
        const v = sizeOf(0, 4 * GiB);
        if (v !== undefined) host.hostHidden = v;
        return;
      }
      case "host_fences": {
        const v = countOf(0, 32);
        if (v !== undefined) host.hostFences = v;
        return;
      }
      case "engines": {
        if (s.values.length === 0) {
          this.err(s.span, `'engines' needs at least one of: ${ENGINE_NAMES.join(" ")}`);
          return;
        }
        const list: EngineName[] = [];
        for (const v of s.values) {
          if (v.k !== "id" || !(ENGINE_NAMES as readonly string[]).includes(v.name)) {
            this.err(
              v.span,
              v.k === "id"
                ? unknown("engine", v.name, ENGINE_NAMES)
                : `expected an engine name, found ${describe(v)}`,
            );
            continue;
          }
          if (list.includes(v.name as EngineName)) {
            this.err(v.span, `engine '${v.name}' listed twice`);
            continue;
          }
          list.push(v.name as EngineName);
        }
        if (!list.includes("rcs") && list.length > 0) {
          this.err(s.span, "engines must include rcs (the render engine hosts the display flips)");
        }
        if (list.length > 0) {
          host.engines = ENGINE_NAMES.filter((e) => list.includes(e));
          this.hostEngines = host.engines;
        }
        return;
      }
      case "refresh": {
        const n = this.numOf(this.one(s), "'refresh'");
        if (!n) return;
        const v = this.quantity(n, "rate", "refresh");
        if (v === undefined) return;
        if (v < 1 || v > 240) {
          this.err(n.span, `value out of range: refresh ${n.raw} must be between 1Hz and 240Hz`);
          return;
        }
        host.refreshHz = v;
        return;
      }
      case "out_of_sync": {
        const b = this.bool(s);
        if (b !== undefined) host.outOfSync = b;
        return;
      }
      case "invariants": {
        const b = this.bool(s);
        if (b !== undefined) host.invariants = b;
        return;
      }
      case "scan_ppgtt": {
        const b = this.bool(s);
        if (b !== undefined) host.scanPpgttBatches = b;
        return;
      }
      case "blit_data": {
        // Absent when on (the default), so other scenarios' specs (and hashes) stay as they were.
        const b = this.bool(s);
        if (b === false) host.blitData = false;
        else if (b === true) delete host.blitData;
        return;
      }
      case "gscale": {
        // Absent when off, so an upstream scenario's spec (and hash) stays as it was.
        const b = this.bool(s);
        if (b === true) host.gscale = true;
        else if (b === false) delete host.gscale;
        return;
      }
      default:
        this.err(s.span, unknown("host setting", s.key, HOST_KEYS));
    }
  }

  hypervisor(st: Extract<HostStmtAst, { k: "hypervisor" }>): HypervisorSpec | undefined {
    if (!st.isPath && !HYPERVISORS.includes(st.name)) {
      this.err(
        st.span,
        unknown("hypervisor", st.name, HYPERVISORS),
        'a plugin backend is named by its path in quotes, e.g. hypervisor "./my_backend.ts"',
      );
      return undefined;
    }
    const notPlugin = st.isPath ? pluginPathProblem(st.name) : undefined;
    if (notPlugin) {
      this.err(st.span, `hypervisor "${st.name}": ${notPlugin}`);
      return undefined;
    }
    const hv: HypervisorSpec = {
      name: st.name,
      params: {},
      costs: {},
      faults: [],
      loc: loc(st.span),
    };
    for (const p of st.params) {
      if (Object.hasOwn(hv.params, p.key)) {
        this.err(p.span, `duplicate param '${p.key}'`);
        continue;
      }
      const v = p.value;
      if (v.k === "num") {
        const d = dimensionOf(v.num.unit);
        if (d === "time" || d === "size" || d === "none") {
          const x = this.quantity(v.num, d, `param ${p.key}`);
          if (x !== undefined) hv.params[p.key] = x;
        } else {
          this.err(
            v.span,
            `param ${p.key}: expected a time, a size, a plain number, on/off or a string, found '${v.num.raw}'`,
          );
        }
      } else if (v.k === "str") hv.params[p.key] = v.value;
      else if (v.k === "id") {
        hv.params[p.key] = Object.hasOwn(BOOL_WORDS, v.name) ? BOOL_WORDS[v.name] : v.name;
      } else this.err(v.span, `param ${p.key}: a call is not a parameter value`);
    }
    for (const c of st.costs) {
      if (Object.hasOwn(hv.costs, c.key)) {
        this.err(c.span, `duplicate cost '${c.key}'`);
        continue;
      }
      const n = this.numOf(this.one(c), `cost '${c.key}'`);
      if (!n) continue;
      const t = this.time(n, `cost '${c.key}'`, 0, S);
      if (t !== undefined) hv.costs[c.key] = t;
    }
    for (const f of st.faults) {
      const r = this.fault(f, undefined);
      if (r) hv.faults.push(r);
    }
    return hv;
  }

  fault(f: FaultAst, at: number | undefined): FaultRule | undefined {
    let ok = true;
    const ops: readonly string[] = MPT_OP_NAMES;
    if (!ops.includes(f.op)) {
      this.err(f.opSpan, unknown("MPT op", f.op, ops));
      ok = false;
    }
    const window = OP_FAULT_WINDOW[f.op as MptOpName];
    if (window === "never") {
      this.err(
        f.opSpan,
        `a fault on '${f.op}' could never fire: the op is not called through the gate during a run`,
      );
      ok = false;
    } else if (window === "start" && (at !== undefined || f.at || f.after)) {
      this.err(
        f.opSpan,
        `a fault on '${f.op}' fires only from the hypervisor block without 'at' or 'after' ` +
          "(the op is called once, when the world is built)",
      );
      ok = false;
    }
    if (!FAULT_ACTIONS.includes(f.action)) {
      this.err(f.actionSpan, unknown("fault action", f.action, FAULT_ACTIONS));
      return undefined;
    }
    const rule: FaultRule = {
      op: f.op,
      action: f.action as FaultRule["action"],
      loc: loc(f.span),
    };
    if (f.action === "delay") {
      if (!f.amount) {
        this.err(f.actionSpan, "fault action 'delay' needs a time, e.g. 'delay 50us'");
        ok = false;
      } else {
        const d = this.time(f.amount, "fault delay", 1, 10 * S);
        if (d === undefined) ok = false;
        else rule.delay = d;
      }
    } else if (f.amount) {
      this.err(f.amount.span, `only 'delay' takes an amount; '${f.action}' does not`);
      ok = false;
    }
    if (f.after) {
      const n = this.count(f.after, "after ... calls", 0, 1e12);
      if (n === undefined) ok = false;
      else rule.afterCalls = n;
    }
    if (f.count) {
      const n = this.count(f.count, "for ... calls", 1, 1e12);
      if (n === undefined) ok = false;
      else rule.count = n;
    }
    if (f.vm) {
      if (!this.vmNames.has(f.vm.name)) {
        this.err(f.vm.span, unknown("vm", f.vm.name, [...this.vmNames]));
        ok = false;
      } else rule.vm = f.vm.name;
    }
    if (f.at) {
      if (at !== undefined) {
        this.err(f.at.span, "a fault in the timeline takes its time from 'at' before 'fault'");
        ok = false;
      } else {
        const t = this.time(f.at, "fault time", 0);
        if (t === undefined) ok = false;
        else rule.at = t;
      }
    }
    if (at !== undefined) rule.at = at;
    return ok ? rule : undefined;
  }

  scheduler(
    policy: string,
    span: Span,
    settings: SettingAst[] | SettingAst["values"],
  ): SchedulerSpec | undefined {
    if (!(POLICIES as readonly string[]).includes(policy)) {
      this.err(span, unknown("scheduler policy", policy, POLICIES));
      return undefined;
    }
    const spec: SchedulerSpec = { policy: policy as PolicyName, params: {} };
    const list = settings as SettingAst[];
    for (const s of list) {
      if (!SCHEDULER_PARAMS.includes(s.key)) {
        this.err(s.span, unknown("scheduler parameter", s.key, SCHEDULER_PARAMS));
        continue;
      }
      if (Object.hasOwn(spec.params, s.key)) {
        this.err(s.span, `duplicate scheduler parameter '${s.key}'`);
        continue;
      }
      const n = this.numOf(this.one(s), `'${s.key}'`);
      if (!n) continue;
      // start-up priority may be switched off (0); periods must be positive
      const t = this.time(n, s.key, s.key === "startup" ? 0 : 1000, 10 * S);
      if (t !== undefined) spec.params[s.key] = t;
    }
    return spec;
  }

  // ---- types -------------------------------------------------------------------------------

  types(items: ItemAst[], host: HostSpec): VgpuTypeSpec[] {
    const prefix = (platformOf(host.gpu) ?? DEFAULT_PLATFORM).typePrefix;
    const types: VgpuTypeSpec[] = builtinTypes(prefix);
    const userSeen = new Map<string, Span>();
    for (const it of items) {
      if (it.k !== "type") continue;
      const name = it.name.replace(/^GVTg_/, "");
      const prev = userSeen.get(name);
      if (prev) {
        this.err(it.span, `duplicate type '${it.name}' (first declared at line ${prev.line})`);
        continue;
      }
      userSeen.set(name, it.span);
      const base = types.find((t) => t.name === name);
      const t: VgpuTypeSpec = base
        ? { ...base }
        : { name, aperture: 0, hidden: 0, fences: 4, weight: 4, width: 1920, height: 1200 };
      const seen = new Set<string>();
      for (const s of it.settings) {
        if (seen.has(s.key)) {
          this.err(s.span, `duplicate setting '${s.key}'`);
          continue;
        }
        seen.add(s.key);
        const n = this.numOf(this.one(s), `'${s.key}'`);
        if (!n) continue;
        switch (s.key) {
          case "aperture": {
            const v = this.size(n, "aperture", 4 * MiB, 4 * GiB);
            if (v !== undefined) t.aperture = v;
            break;
          }
          case "hidden": {
            const v = this.size(n, "hidden", 4 * MiB, 4 * GiB);
            if (v !== undefined) t.hidden = v;
            break;
          }
          case "fences": {
            const v = this.count(n, "fences", 0, 32);
            if (v !== undefined) t.fences = v;
            break;
          }
          case "weight": {
            const v = this.count(n, "weight", 1, 16);
            if (v !== undefined) t.weight = v;
            break;
          }
          case "resolution": {
            const m = /^x(\d+)$/.exec(n.unit);
            if (!m || !Number.isInteger(n.value)) {
              this.err(n.span, `resolution is WIDTHxHEIGHT, e.g. 1920x1200; found '${n.raw}'`);
              break;
            }
            const w = n.value;
            const hgt = Number(m[1]);
            if (w < 640 || w > 8192 || hgt < 480 || hgt > 8192) {
              this.err(
                n.span,
                `value out of range: resolution ${n.raw} must be between 640x480 and 8192x8192`,
              );
              break;
            }
            t.width = w;
            t.height = hgt;
            break;
          }
          default:
            this.err(
              s.span,
              unknown("type setting", s.key, [
                "aperture",
                "hidden",
                "fences",
                "weight",
                "resolution",
              ]),
            );
        }
      }
      if (!base) {
        if (!seen.has("aperture")) this.err(it.span, `type '${it.name}' needs an aperture size`);
        if (!seen.has("hidden")) this.err(it.span, `type '${it.name}' needs a hidden size`);
      }
      if (base) types[types.indexOf(base)] = t;
      else types.push(t);
    }
    return types;
  }

  // ---- workloads ---------------------------------------------------------------------------

  ops(body: OpAst[]): WorkloadOp[] {
    const out: WorkloadOp[] = [];
    let endless: Span | undefined;
    for (const op of body) {
      if (endless) {
        this.warn(
          op.span,
          `unreachable: the step at line ${endless.line} loops forever, so this step never runs`,
        );
        endless = undefined;
      }
      const r = this.op(op);
      if (r) out.push(r);
      if (op.k === "every" || op.k === "at" || (op.k === "repeat" && op.count === "forever")) {
        endless = op.span;
      }
    }
    return out;
  }

  op(op: OpAst): WorkloadOp | undefined {
    const l = loc(op.span);
    switch (op.k) {
      case "batch": {
        if (!(ENGINE_NAMES as readonly string[]).includes(op.engine)) {
          this.err(op.span, unknown("engine", op.engine, ENGINE_NAMES));
          return undefined;
        }
        if (!this.hostEngines.includes(op.engine as EngineName)) {
          this.err(
            op.span,
            `engine '${op.engine}' is not on this host (engines: ${this.hostEngines.join(" ")})`,
          );
          return undefined;
        }
        const mix: CommandMix = {
          draw: { kind: "const", value: 0 },
          blit: { kind: "const", value: 0 },
          media: { kind: "const", value: 0 },
          compute: { kind: "const", value: 0 },
          store: { kind: "const", value: 0 },
          lri: { kind: "const", value: 0 },
        };
        const seen = new Set<string>();
        for (const s of op.mix) {
          if (!MIX_KINDS.includes(s.key)) {
            this.err(s.span, unknown("command kind", s.key, MIX_KINDS));
            continue;
          }
          if (seen.has(s.key)) {
            this.err(s.span, `duplicate '${s.key}' in batch`);
            continue;
          }
          seen.add(s.key);
          if (s.key === "dwords") {
            const dw = s.values.map((v) => this.dword(v));
            if (dw.length === 0) {
              this.err(s.span, "dwords needs at least one value, e.g. 'dwords 0x0'");
            } else if (dw.every((x) => x !== undefined)) mix.dwords = dw as number[];
            continue;
          }
          const [count, ...regVals] = s.values;
          if (!count) {
            this.err(s.span, `'${s.key}' needs a count`);
            continue;
          }
          const d = this.dist(count, "none", `${s.key} count`, 0, 100000);
          const regs = regVals.map((v) => this.register(v));
          if (!d || regs.some((r) => r === undefined)) continue;
          const k = s.key as
            | "draw"
            | "blit"
            | "fill"
            | "media"
            | "compute"
            | "store"
            | "lri"
            | "srm"
            | "lrm"
            | "lrr";
          mix[k] = d;
          if (k === "lrr") {
            if (regs.length !== 2) {
              this.err(s.span, "lrr needs a count and two registers: 'lrr N SRC DST'");
              continue;
            }
            mix.lrrRegs = [regs[0]!, regs[1]!];
          } else if (regs.length > 0) {
            if (k !== "lri" && k !== "srm" && k !== "lrm") {
              this.err(regVals[0].span, `'${k}' takes only a count`);
              continue;
            }
            mix[`${k}Regs`] = regs as number[];
          }
        }
        return { op: "batch", engine: op.engine as EngineName, mix, loc: l };
      }
      case "every": {
        const p = this.time(op.period, "the period of 'every'", 100_000, 60 * S);
        const body = this.ops(op.body);
        return p === undefined ? undefined : { op: "every", period: p, body, loc: l };
      }
      case "at": {
        const d = dimensionOf(op.rate.unit);
        const body = this.ops(op.body);
        if (d !== "rate") {
          this.quantity(op.rate, "rate", "the frame rate of 'at'");
          return undefined;
        }
        const r = op.rate.value;
        if (r <= 0 || r > 1000) {
          this.err(
            op.rate.span,
            `value out of range: frame rate ${op.rate.raw} must be between 0 and 1000fps`,
          );
          return undefined;
        }
        return { op: "every", period: Math.round(S / r), body, loc: l };
      }
      case "repeat": {
        const body = this.ops(op.body);
        if (op.count === "forever") return { op: "repeat", count: "forever", body, loc: l };
        const n = this.count(op.count, "repeat count", 1, 1e9);
        return n === undefined ? undefined : { op: "repeat", count: n, body, loc: l };
      }
      case "think": {
        const d = this.dist(op.value, "time", "think time", 0, 60 * S);
        return d ? { op: "think", duration: d, loc: l } : undefined;
      }
      case "wait": {
        if (op.what !== "completion" && op.what !== "vblank") {
          this.err(op.whatSpan, unknown("wait condition", op.what, ["completion", "vblank"]));
          return undefined;
        }
        return { op: "wait", what: op.what, loc: l };
      }
      case "flip":
        return { op: "flip", loc: l };
      case "choose": {
        if (op.options.length === 0) {
          this.err(op.span, "choose needs at least one option, e.g. 'choose { 3: { flip } }'");
          return undefined;
        }
        const options: { weight: number; body: WorkloadOp[] }[] = [];
        for (const o of op.options) {
          const w = this.count(o.weight, "choice weight", 0, 1e9, true);
          const body = this.ops(o.body);
          if (w === undefined) continue;
          if (w <= 0) {
            this.err(o.weight.span, `value out of range: choice weight must be above 0`);
            continue;
          }
          options.push({ weight: w, body });
        }
        return options.length === op.options.length ? { op: "choose", options, loc: l } : undefined;
      }
      case "map":
      case "unmap": {
        const what = `${op.k} ${op.huge ? "huge " : ""}page count`;
        const d = this.dist(op.value, "none", what, 0, op.huge ? 1 << 11 : 1 << 20);
        if (!d) return undefined;
        return op.huge
          ? { op: op.k, pages: d, huge: true, loc: l }
          : { op: op.k, pages: d, loc: l };
      }
      case "pte_rewrite": {
        const d = this.dist(op.value, "none", "pte_rewrite count", 0, 1 << 20);
        return d ? { op: "pte_rewrite", count: d, loc: l } : undefined;
      }
      case "misbehave": {
        const kind = this.misbehaviour(op.kind, op.kindSpan);
        const c = op.count ? this.count(op.count, "misbehave count", 1, 1e6) : 1;
        return kind && c !== undefined ? { op: "misbehave", kind, count: c, loc: l } : undefined;
      }
    }
  }

  misbehaviour(kind: string, span: Span): MisbehaviourKind | undefined {
    if ((MISBEHAVIOURS as readonly string[]).includes(kind)) return kind as MisbehaviourKind;
    this.err(span, unknown("misbehaviour", kind, MISBEHAVIOURS));
    return undefined;
  }

  // ---- vms ---------------------------------------------------------------------------------

  declareVms(items: ItemAst[]): void {
    for (const it of items) {
      if (it.k !== "vm") continue;
      const n = it.count ? Math.floor(it.count.value) : 0;
      if (it.count && n >= 1 && n <= 64 && it.count.unit === "") {
        for (let i = 1; i <= n; i++) this.vmNames.add(it.name + i);
      } else this.vmNames.add(it.name);
    }
  }

  vms(
    items: ItemAst[],
    types: VgpuTypeSpec[],
    workloads: Record<string, WorkloadSpec>,
    firstHost: HostSpec,
    decls?: HostDecl[],
  ): VmSpec[] {
    const out: VmSpec[] = [];
    const seen = new Map<string, Span>();
    // what is still free on each host (key "" is the first, or only, host)
    const frees = new Map<string, ReturnType<typeof initialFree>>();
    const placedOn = new Map<string, number>();
    const freeOf = (name: string, h: HostSpec) => {
      let f = frees.get(name);
      if (!f) frees.set(name, f = initialFree(h));
      return f;
    };
    const host = firstHost;
    const free = freeOf("", host);
    let hostOk = true;
    if (free.aperture < 0 || free.hidden < 0 || free.fences < 0) {
      hostOk = false;
      const h = items.find((i) => i.k === "host")?.span;
      if (h) {
        this.err(
          h,
          `the host keeps more than it has: aperture ${formatSize(host.aperture)} - host ${
            formatSize(host.hostAperture)
          }, hidden ${formatSize(host.ggtt - host.aperture)} - host ${
            formatSize(host.hostHidden)
          }, fences ${host.fences} - host ${host.hostFences}`,
        );
      }
    }
    for (const it of items) {
      if (it.k !== "vm") continue;
      let count = 1;
      if (it.count) {
        const c = this.count(it.count, "vm count", 1, 64);
        if (c === undefined) continue;
        count = c;
      }
      let typeName: string | undefined;
      let workload: string | undefined;
      let typeSpan: Span | undefined;
      let wlSpan: Span | undefined;
      let weight: number | undefined;
      let start: number | undefined;
      let vcpus = 1;
      let memory = 2 * GiB;
      let onHost: HostDecl | undefined;
      const keys = new Set<string>();
      let ok = true;
      for (const st of it.stmts) {
        const key = st.k === "setting" ? st.setting.key : st.k;
        const sp = st.k === "setting" ? st.setting.span : st.span;
        if (keys.has(key)) {
          this.err(sp, `duplicate '${key}' in vm '${it.name}'`);
          ok = false;
          continue;
        }
        keys.add(key);
        if (st.k !== "setting") {
          if (st.k === "type") {
            typeName = st.name;
            typeSpan = st.span;
          } else if (st.k === "host") {
            if (!decls) {
              this.err(
                st.span,
                `vm '${it.name}' names host '${st.name}', but the scenario has one unnamed host; name the hosts, e.g. 'host ${st.name} skylake { ... }'`,
              );
              ok = false;
            } else {
              onHost = decls.find((d) => d.name === st.name);
              if (!onHost) {
                this.err(st.span, unknown("host", st.name, decls.map((d) => d.name)));
                ok = false;
              }
            }
          } else {
            workload = st.name;
            wlSpan = st.span;
          }
          continue;
        }
        const s = st.setting;
        if (!["weight", "start", "vcpus", "memory"].includes(s.key)) {
          this.err(
            s.span,
            unknown("vm setting", s.key, [
              "type",
              "run",
              "host",
              "weight",
              "start",
              "vcpus",
              "memory",
            ]),
          );
          ok = false;
          continue;
        }
        const n = this.numOf(this.one(s), `'${s.key}'`);
        if (!n) {
          ok = false;
          continue;
        }
        let v: number | undefined;
        if (s.key === "weight") v = weight = this.count(n, "weight", 1, 16);
        else if (s.key === "start") v = start = this.time(n, "start", 0);
        else if (s.key === "vcpus") v = vcpus = this.count(n, "vcpus", 1, 64) ?? vcpus;
        else v = memory = this.size(n, "memory", 64 * MiB, 1024 * GiB) ?? memory;
        if (v === undefined) ok = false;
      }
      let type: VgpuTypeSpec | undefined;
      if (typeName === undefined) {
        if (!this.opts.partial) {
          this.err(it.span, `vm '${it.name}' needs a vGPU type, e.g. 'type V5_4'`);
        }
        ok = false;
      } else {
        type = findType(types, typeName);
        if (!type && typeSpan) {
          this.err(typeSpan, unknownType(typeName, types, host.gpu));
          ok = false;
        }
      }
      if (workload === undefined) {
        if (!this.opts.partial) {
          this.err(it.span, `vm '${it.name}' needs a workload, e.g. 'run game'`);
        }
        ok = false;
      } else if (!Object.hasOwn(workloads, workload) && wlSpan) {
        this.err(wlSpan, unknown("workload", workload, Object.keys(workloads)));
        ok = false;
      }
      let capacityReported = false;
      for (let i = 1; i <= count; i++) {
        const name = it.count ? it.name + i : it.name;
        const prev = seen.get(name);
        if (prev) {
          this.err(
            it.span,
            `duplicate vm '${name}' (first declared at ${prev.file}:${prev.line})`,
          );
          continue;
        }
        seen.set(name, it.span);
        const hostKey = onHost && decls && onHost !== decls[0] ? onHost.name : "";
        const hs = onHost?.host ?? host;
        const free = freeOf(hostKey, hs);
        const placed = placedOn.get(hostKey) ?? 0;
        if (type && hostOk) {
          const avail = availableInstances(type, free, hs.gscale === true);
          if (avail < 1) {
            if (!capacityReported) {
              capacityReported = true;
              this.err(
                typeSpan ?? it.span,
                `vm '${name}' does not fit: type ${type.name} needs ${
                  formatSize(type.aperture)
                } aperture, ${
                  formatSize(type.hidden)
                } hidden and ${type.fences} fences, but after ${placed} vGPU${
                  placed === 1 ? "" : "s"
                } only ${formatSize(free.aperture)} aperture, ${
                  formatSize(free.hidden)
                } hidden, ${free.fences} fences and ${free.ids} of ${
                  hs.gscale ? GSCALE_MAX_VGPU : GVT_MAX_VGPU
                } vGPU ids are free`,
                `host${onHost ? ` ${onHost.name}` : ""} aperture ${formatSize(hs.aperture)} minus ${
                  formatSize(hs.hostAperture)
                } kept by the host; GGTT ${formatSize(hs.ggtt)}; ${availabilityNote(types, hs)}`,
              );
            }
            ok = false;
          } else {
            if (!hs.gscale) {
              free.aperture -= type.aperture;
              free.hidden -= type.hidden;
              free.fences -= type.fences;
            }
            free.ids -= 1;
            placedOn.set(hostKey, placed + 1);
          }
        }
        if (ok && type && workload !== undefined) {
          out.push({
            name,
            type: type.name,
            weight,
            workload,
            start: start ?? 0,
            autostart: true,
            vcpus,
            memory,
            loc: loc(it.span),
            ...(onHost ? { host: onHost.name } : {}),
          });
        }
      }
    }
    return out;
  }

  // ---- timeline ----------------------------------------------------------------------------

  timeline(
    items: ItemAst[],
  ): { events: TimelineEvent[]; duration: number; durSpan?: Span } {
    const events: TimelineEvent[] = [];
    let duration: number | undefined;
    let durSpan: Span | undefined;
    const stmts: TimelineStmtAst[] = [];
    for (const it of items) if (it.k === "timeline") stmts.push(...it.stmts);
    for (const st of stmts) {
      if (st.k === "run") {
        if (durSpan) {
          this.err(st.span, `duplicate 'run' (first at line ${durSpan.line})`);
          continue;
        }
        durSpan = st.span;
        duration = this.time(st.duration, "run length", 1000, MAX_RUN_NS);
        continue;
      }
      const at = this.time(st.at, "timeline time", 0, MAX_RUN_NS);
      if (at === undefined) continue;
      const l = loc(st.span);
      if (st.k === "fault") {
        const rule = this.fault(st.fault, at);
        if (rule) events.push({ at, action: { kind: "fault", rule }, loc: l });
        continue;
      }
      if (st.k === "misbehave") {
        const okVm = this.vmRef(st.vm, st.vmSpan);
        const kind = this.misbehaviour(st.kind, st.kindSpan);
        const c = st.count ? this.count(st.count, "misbehave count", 1, 1e6) : 1;
        if (okVm && kind && c !== undefined) {
          events.push({
            at,
            action: { kind: "misbehave", vm: st.vm, misbehaviour: kind, count: c },
            loc: l,
          });
        }
        continue;
      }
      const a = st.action;
      if (VM_ACTIONS.includes(a.key)) {
        const v = this.one(a);
        if (!v) continue;
        if (v.k !== "id") {
          this.err(v.span, `'${a.key}' takes a vm name, found ${describe(v)}`);
          continue;
        }
        if (!this.vmRef(v.name, v.span)) continue;
        events.push({
          at,
          action: { kind: a.key as "start", vm: v.name },
          loc: l,
        });
        continue;
      }
      if (a.key === "weight") {
        if (a.values.length !== 2) {
          this.err(a.span, `'weight' takes a vm and a weight, e.g. 'at 4s weight batch 8'`);
          continue;
        }
        const [v, w] = a.values;
        if (v.k !== "id") {
          this.err(v.span, `'weight' takes a vm name first, found ${describe(v)}`);
          continue;
        }
        const okVm = this.vmRef(v.name, v.span);
        const n = this.numOf(w, "weight");
        const wt = n ? this.count(n, "weight", 1, 16) : undefined;
        if (okVm && wt !== undefined) {
          events.push({ at, action: { kind: "weight", vm: v.name, weight: wt }, loc: l });
        }
        continue;
      }
      if (a.key === "migrate") {
        const m = this.migrate(a);
        if (m) events.push({ at, action: m, loc: l });
        continue;
      }
      if (a.key === "policy") {
        const [p, ...rest] = a.values;
        if (!p || p.k !== "id") {
          this.err(p?.span ?? a.span, `'policy' takes a policy name: ${POLICIES.join(", ")}`);
          continue;
        }
        if (rest.length % 2 !== 0) {
          this.err(
            a.span,
            `policy parameters come in pairs, e.g. 'policy gvirt-rr timeslice 16ms'`,
          );
          continue;
        }
        const settings: SettingAst[] = [];
        let bad = false;
        for (let i = 0; i < rest.length; i += 2) {
          const k = rest[i];
          if (k.k !== "id") {
            this.err(k.span, `expected a scheduler parameter name, found ${describe(k)}`);
            bad = true;
            break;
          }
          settings.push({ key: k.name, values: [rest[i + 1]], span: k.span });
        }
        if (bad) continue;
        const sched = this.scheduler(p.name, p.span, settings);
        if (sched) events.push({ at, action: { kind: "policy", scheduler: sched }, loc: l });
        continue;
      }
      this.err(
        a.span,
        unknown("timeline action", a.key, [
          ...VM_ACTIONS,
          "weight",
          "policy",
          "migrate",
          "fault",
          "misbehave",
        ]),
      );
    }
    const dur = duration ?? DEFAULT_DURATION_NS;
    for (const e of events) {
      if (e.at > dur) {
        this.err(
          { ...e.loc, len: 2 },
          `'at ${formatTime(e.at)}' is after the end of the run (${formatTime(dur)})`,
        );
      }
    }
    const sorted = events.map((e, i) => ({ e, i })).sort((x, y) => x.e.at - y.e.at || x.i - y.i)
      .map((x) => x.e);
    return { events: sorted, duration: dur, durSpan };
  }

  /**
   * `migrate VM to HOST [bandwidth SIZE] [hashing on|off] [max_downtime TIME] [max_rounds N]
   * [hash_cost TIME]`: the VM's host (as earlier migrations left it) must differ from the
   * target, and both must have the same GPU.
   */
  migrate(a: SettingAst): Extract<TimelineAction, { kind: "migrate" }> | undefined {
    const [v, to, h, ...rest] = a.values;
    const usage = "'migrate' takes a vm and a host, e.g. 'at 2s migrate desktop to b'";
    if (!v || v.k !== "id" || !to || to.k !== "id" || to.name !== "to" || !h || h.k !== "id") {
      this.err(v?.span ?? a.span, usage);
      return undefined;
    }
    if (!this.vmRef(v.name, v.span)) return undefined;
    const decls = this.hostDecls;
    if (!decls) {
      this.err(
        h.span,
        `'migrate' needs named hosts: declare them as 'host a skylake { ... }' and 'host ${h.name} skylake { ... }'`,
      );
      return undefined;
    }
    const target = decls.find((d) => d.name === h.name);
    if (!target) {
      this.err(h.span, unknown("host", h.name, decls.map((d) => d.name)));
      return undefined;
    }
    const options: MigrationOptions = { ...DEFAULT_MIGRATION };
    let ok = true;
    for (let i = 0; i < rest.length; i += 2) {
      const k = rest[i], val = rest[i + 1];
      if (k.k !== "id" || !MIGRATE_OPTIONS.includes(k.name)) {
        this.err(
          k.span,
          k.k === "id"
            ? unknown("migrate option", k.name, MIGRATE_OPTIONS)
            : `expected a migrate option (${MIGRATE_OPTIONS.join(", ")}), found ${describe(k)}`,
        );
        return undefined;
      }
      if (!val) {
        this.err(k.span, `'${k.name}' needs a value`);
        return undefined;
      }
      const setting: SettingAst = { key: k.name, values: [val], span: k.span };
      if (k.name === "hashing") {
        const b = this.bool(setting);
        if (b === undefined) ok = false;
        else options.hashing = b;
        continue;
      }
      const n = this.numOf(val, `'${k.name}'`);
      if (!n) {
        ok = false;
        continue;
      }
      const x = k.name === "bandwidth"
        ? this.size(n, "bandwidth", MiB, 1024 * GiB)
        : k.name === "max_downtime"
        ? this.time(n, "max_downtime", 1000, 60 * S)
        : k.name === "max_rounds"
        ? this.count(n, "max_rounds", 1, 1000)
        : this.time(n, "hash_cost", 0, 1e6);
      if (x === undefined) ok = false;
      else if (k.name === "bandwidth") options.bandwidth = x;
      else if (k.name === "max_downtime") options.maxDowntime = x;
      else if (k.name === "max_rounds") options.maxRounds = x;
      else options.hashCost = x;
    }
    if (!ok) return undefined;
    const cur = this.vmHost.get(v.name) ?? decls[0].name;
    const src = decls.find((d) => d.name === cur)!;
    if (cur === target.name) {
      this.err(h.span, `'${v.name}' already runs on host '${cur}' at that time`);
      return undefined;
    }
    if (src.host.gpu !== target.host.gpu) {
      this.err(
        h.span,
        `cannot migrate '${v.name}' from host '${cur}' (${src.host.gpu}) to host '${target.name}' (${target.host.gpu}): a vGPU migrates only between GPUs of the same kind`,
      );
      return undefined;
    }
    this.vmHost.set(v.name, target.name);
    return { kind: "migrate", vm: v.name, to: target.name, options };
  }

  /**
   * Warns about life-cycle events that do nothing, as the world applies them: `resume` of a VM
   * that is not paused (never paused, or stopped), `pause` or `stop` of one that is not
   * running, `start` of one that runs, `reset` of one that is off.
   */
  lifeCycle(events: TimelineEvent[], vms: VmSpec[]): void {
    type State = { s: "off" | "running" | "paused" | "stopped"; since: number; autoBoot: boolean };
    const st = new Map<string, State>();
    for (const vm of vms) st.set(vm.name, { s: "off", since: 0, autoBoot: vm.autostart });
    for (const e of events) {
      const a = e.action;
      if (!("vm" in a) || a.kind === "weight" || a.kind === "misbehave") continue;
      const vm = vms.find((v) => v.name === a.vm);
      const cur = st.get(a.vm);
      if (!vm || !cur) continue;
      // the world boots a VM at its `start` before timeline events of the same instant
      if (cur.autoBoot && vm.start <= e.at) {
        Object.assign(cur, { s: "running", since: vm.start, autoBoot: false });
      }
      const what = cur.s === "off"
        ? "has not been started"
        : cur.s === "stopped"
        ? `was stopped at ${formatTime(cur.since)}`
        : cur.s === "paused"
        ? `is paused (since ${formatTime(cur.since)})`
        : "is running";
      const useless = (why: string, hint?: string) =>
        this.warn(
          { ...e.loc, len: 2 },
          `'${a.kind} ${a.vm}' at ${formatTime(e.at)} does nothing: '${a.vm}' ${what}${why}`,
          hint,
        );
      const to = (s: State["s"]) => Object.assign(cur, { s, since: e.at });
      switch (a.kind) {
        case "start":
          if (cur.s === "running" || cur.s === "paused") useless("");
          else to("running");
          break;
        case "stop":
          if (cur.s === "off" || cur.s === "stopped") useless("");
          else to("stopped");
          break;
        case "pause":
          if (cur.s !== "running") useless("");
          else to("paused");
          break;
        case "resume":
          if (cur.s === "paused") to("running");
          else if (cur.s === "stopped") {
            useless(", and resume only continues a paused VM", `'start ${a.vm}' boots it again`);
          } else if (cur.s === "running") useless(" and was never paused");
          else useless("");
          break;
        case "reset":
          if (cur.s === "off" || cur.s === "stopped") useless("");
          break;
      }
    }
  }

  vmRef(name: string, span: Span): boolean {
    if (this.vmNames.has(name)) return true;
    this.err(span, unknown("vm", name, [...this.vmNames]));
    return false;
  }

  // ---- expectations ------------------------------------------------------------------------

  expects(items: ItemAst[]): Expectation[] {
    const out: Expectation[] = [];
    for (const it of items) {
      if (it.k !== "expect") continue;
      const p = this.predicate(it.pred);
      if (p) out.push({ text: it.text, pred: p, loc: loc(it.span) });
    }
    return out;
  }

  predicate(p: PredicateAst): Predicate | undefined {
    if (p.k === "is") {
      if (p.left.k !== "call" || p.left.fn !== "state") {
        this.err(p.span, "'is' tests a vGPU state: write 'state(VM) is failsafe'");
        return undefined;
      }
      const call = this.callArgs(p.left);
      if (!call) return undefined;
      const args = call.args;
      if (!VM_STATES.includes(p.state)) {
        this.err(p.stateSpan, unknown("vGPU state", p.state, VM_STATES));
        return undefined;
      }
      return { k: "state", vm: String(args[0]), state: p.state };
    }
    if (p.k === "cmp") {
      const l0 = this.expr(p.left, false);
      const r0 = this.expr(p.right, false);
      if (!l0 || !r0) return undefined;
      const left = l0.unit !== "percent" && r0.unit === "percent" ? this.expr(p.left, true) : l0;
      const right = r0.unit !== "percent" && l0.unit === "percent" ? this.expr(p.right, true) : r0;
      if (!left || !right) return undefined;
      if (!compatible(left.unit, right.unit)) {
        this.err(
          p.span,
          `unit mismatch: the left side is ${unitName(left.unit)} but the right side is ${
            unitName(right.unit)
          }`,
        );
        return undefined;
      }
      this.suspiciousLiteral(p.left, left.unit, p.right);
      this.suspiciousLiteral(p.right, right.unit, p.left);
      return { k: "cmp", op: p.op as "==", left: left.e, right: right.e };
    }
    const l0 = this.expr(p.left, false);
    const t0 = this.expr(p.target, false);
    if (!l0 || !t0) return undefined;
    const left = t0.unit === "percent" ? this.expr(p.left, true) : l0;
    const target = l0.unit === "percent" ? this.expr(p.target, true) : t0;
    if (!left || !target) return undefined;
    if (!compatible(left.unit, target.unit)) {
      this.err(
        p.span,
        `unit mismatch: the left side is ${unitName(left.unit)} but the target is ${
          unitName(target.unit)
        }`,
      );
      return undefined;
    }
    this.suspiciousLiteral(p.left, left.unit, p.target);
    this.suspiciousLiteral(p.target, target.unit, p.left);
    const d = dimensionOf(p.tol.unit);
    if (d === "percent") {
      if (p.tol.value < 0 || p.tol.value > 1000) {
        this.err(
          p.tol.span,
          `value out of range: tolerance ${p.tol.raw} must be between 0% and 1000%`,
        );
        return undefined;
      }
      return {
        k: "within",
        left: left.e,
        target: target.e,
        tolerance: p.tol.value / 100,
        relative: true,
      };
    }
    const want: Dimension =
      target.unit === "time" || target.unit === "size" || target.unit === "rate"
        ? target.unit
        : "none";
    const tol = this.quantity(p.tol, want, "the tolerance");
    if (tol === undefined) return undefined;
    if (tol < 0) {
      this.err(p.tol.span, "value out of range: tolerance must not be negative");
      return undefined;
    }
    return { k: "within", left: left.e, target: target.e, tolerance: tol, relative: false };
  }

  /**
   * Warns when a bare number is compared with something it is probably not in the unit of: a
   * time (`latency(a, p99) < 5` is 5 ns), a fraction above 1 (`share(a) >= 30`), a percentage
   * below 1 (`native_pct(a) >= 0.8` is 0.8 %).
   */
  suspiciousLiteral(side: ExprAst, unit: EUnit, other: ExprAst): void {
    if (other.k !== "num" || other.num.unit !== "" || other.num.value === 0) return;
    const raw = other.num.raw;
    const f = side.k === "call" ? findFunction(side.fn) : undefined;
    if (unit === "time") {
      this.warn(
        other.span,
        `'${raw}' has no unit but is compared with a time, so it means ${raw} ns`,
        `write the unit, e.g. '${raw}ms' or '${raw}us'`,
      );
    } else if (f?.unit === "fraction" && Math.abs(other.num.value) > 1) {
      this.warn(
        other.span,
        `${f.name}() is a fraction from 0 to 1, so comparing it with ${raw} is always true or always false`,
        `write '${raw}%' for a percentage`,
      );
    } else if (f?.unit === "percent" && Math.abs(other.num.value) < 1) {
      this.warn(
        other.span,
        `${f.name}() is a percentage from 0 to 100, so ${raw} means ${raw}%`,
        `write '${Number((other.num.value * 100).toPrecision(6))}%' if you meant a fraction`,
      );
    }
  }

  /** Converts an expression; `pct` makes `N%` literals percentages (N) instead of fractions. */
  expr(e: ExprAst, pct: boolean): { e: Expr; unit: EUnit } | undefined {
    switch (e.k) {
      case "num": {
        const d = dimensionOf(e.num.unit);
        if (d === undefined || d === "resolution") {
          this.err(
            e.num.span,
            `unknown unit '${e.num.unit}' in '${e.num.raw}'; expected one of: ${
              ALL_UNITS.join(", ")
            }`,
          );
          return undefined;
        }
        if (d === "percent") {
          return pct
            ? { e: { k: "num", value: e.num.value }, unit: "percent" }
            : { e: { k: "num", value: e.num.value / 100 }, unit: "none" };
        }
        const v = this.quantity(e.num, d, "a number");
        if (v === undefined) return undefined;
        return { e: { k: "num", value: v }, unit: d as EUnit };
      }
      case "neg": {
        const x = this.expr(e.e, pct);
        return x
          ? { e: { k: "bin", op: "-", a: { k: "num", value: 0 }, b: x.e }, unit: x.unit }
          : undefined;
      }
      case "bin": {
        const a = this.expr(e.a, pct);
        const b = this.expr(e.b, pct);
        if (!a || !b) return undefined;
        let unit: EUnit;
        if (e.op === "+" || e.op === "-") {
          if (!compatible(a.unit, b.unit)) {
            this.err(
              e.span,
              `unit mismatch: cannot ${e.op === "+" ? "add" : "subtract"} ${unitName(b.unit)} ${
                e.op === "+" ? "to" : "from"
              } ${unitName(a.unit)}`,
            );
            return undefined;
          }
          unit = a.unit === "none" ? b.unit : a.unit;
        } else if (e.op === "*") {
          unit = a.unit === "none" ? b.unit : b.unit === "none" ? a.unit : "none";
        } else {
          unit = b.unit === "none" ? a.unit : "none";
        }
        return { e: { k: "bin", op: e.op, a: a.e, b: b.e }, unit };
      }
      case "call": {
        const f = findFunction(e.fn);
        if (!f) {
          this.err(e.span, unknown("function", e.fn, RESULT_FUNCTIONS.map((x) => x.name)));
          return undefined;
        }
        if (f.unit === "state") {
          this.err(
            e.span,
            "state(VM) is only tested with 'is', e.g. 'expect state(evil) is failsafe'",
          );
          return undefined;
        }
        const call = this.callArgs(e);
        if (!call) return undefined;
        const unit: EUnit = f.unit === "ns"
          ? "time"
          : f.unit === "fps" || f.unit === "per_s"
          ? "rate"
          : f.unit === "percent"
          ? "percent"
          : "none";
        const c: Expr = { k: "call", fn: f.name, args: call.args, loc: loc(e.span) };
        if (call.window) c.window = call.window;
        return { e: c, unit };
      }
    }
  }

  /** A window argument (`2s..6s`, `1s..`, `..3s`) as a {@link MeasureWindow}. */
  window(f: ResultFunction, r: Extract<ValueAst, { k: "range" }>): MeasureWindow | undefined {
    if (!f.window) {
      this.err(
        r.span,
        `${f.name}() takes no window (functions with one: ${
          RESULT_FUNCTIONS.filter((x) => x.window).map((x) => x.name).join(", ")
        })`,
      );
      return undefined;
    }
    const from = r.from ? this.time(r.from, "window start") : 0;
    const to = r.to ? this.time(r.to, "window end") : undefined;
    if (from === undefined || (r.to && to === undefined)) return undefined;
    if (to !== undefined && to <= from) {
      this.err(
        r.span,
        `empty window ${r.from?.raw ?? ""}..${r.to?.raw}: the end must come after the start`,
      );
      return undefined;
    }
    return to === undefined ? { from } : { from, to };
  }

  callArgs(
    e: Extract<ExprAst, { k: "call" }>,
  ): { args: (string | number)[]; window?: MeasureWindow } | undefined {
    const f = findFunction(e.fn);
    if (!f) {
      this.err(e.span, unknown("function", e.fn, RESULT_FUNCTIONS.map((x) => x.name)));
      return undefined;
    }
    const last = e.args[e.args.length - 1];
    let window: MeasureWindow | undefined;
    if (last?.k === "range") {
      window = this.window(f, last);
      if (!window) return undefined;
      e = { ...e, args: e.args.slice(0, -1) };
    }
    const misplaced = e.args.find((a) => a.k === "range");
    if (misplaced) {
      this.err(misplaced.span, `the window is the last argument of ${f.name}()`);
      return undefined;
    }
    if (e.args.length < f.minArgs || e.args.length > f.args.length) {
      const sig = `${f.name}(${f.args.map((a, i) => (i >= f.minArgs ? `[${a}]` : a)).join(", ")})`;
      this.err(
        e.span,
        `${f.name}() takes ${
          f.minArgs === f.args.length ? f.minArgs : `${f.minArgs} to ${f.args.length}`
        } argument${f.args.length === 1 ? "" : "s"}, found ${e.args.length}: ${sig}`,
      );
      return undefined;
    }
    const out: (string | number)[] = [];
    let ok = true;
    e.args.forEach((a, i) => {
      const kind = f.args[i];
      if (kind === "string") {
        if (a.k !== "str") {
          this.err(
            a.span,
            `argument ${i + 1} of ${f.name}() is a counter name in quotes, found ${describe(a)}`,
          );
          ok = false;
        } else out.push(a.value);
        return;
      }
      if (a.k !== "id") {
        this.err(
          a.span,
          `argument ${i + 1} of ${f.name}() is ${argKindName(kind)}, found ${describe(a)}`,
        );
        ok = false;
        return;
      }
      const choices: readonly string[] = kind === "vm"
        ? [...this.vmNames]
        : kind === "engine"
        ? this.hostEngines
        : kind === "percentile"
        ? PERCENTILES
        : TRAP_KINDS;
      if (!choices.includes(a.name)) {
        if (kind === "engine" && (ENGINE_NAMES as readonly string[]).includes(a.name)) {
          this.err(
            a.span,
            `engine '${a.name}' is not on this host (engines: ${choices.join(" ")})`,
          );
        } else this.err(a.span, unknown(argKindName(kind, false), a.name, choices));
        ok = false;
        return;
      }
      out.push(a.name);
    });
    if (!ok) return undefined;
    return window ? { args: out, window } : { args: out };
  }

  // ---- report ------------------------------------------------------------------------------

  report(items: ItemAst[]): ReportSpec {
    const rep: ReportSpec = { tables: [], metrics: [] };
    let any = false;
    for (const it of items) {
      if (it.k !== "report") continue;
      any = true;
      for (const s of it.settings) {
        if (s.key === "window" || s.key === "period") {
          this.reportTime(rep, s);
          continue;
        }
        if (s.key !== "tables" && s.key !== "metrics") {
          this.err(s.span, unknown("report setting", s.key, REPORT_SETTINGS));
          continue;
        }
        for (const v of s.values) {
          if (s.key === "tables") {
            if (v.k !== "id" || !REPORT_TABLES.includes(v.name)) {
              this.err(
                v.span,
                v.k === "id"
                  ? unknown("report table", v.name, REPORT_TABLES)
                  : `expected a table name, found ${describe(v)}`,
              );
            } else if (!rep.tables.includes(v.name)) rep.tables.push(v.name);
          } else {
            if (v.k === "str") {
              if (!rep.metrics.includes(v.value)) rep.metrics.push(v.value);
            } else if (v.k === "id") {
              const f = findFunction(v.name);
              if (!f || !isVmMetric(f.name)) {
                this.err(
                  v.span,
                  unknown(
                    "per-vm metric",
                    v.name,
                    RESULT_FUNCTIONS.filter((x) => isVmMetric(x.name)).map((x) => x.name),
                  ),
                  "a counter name in quotes is also accepted",
                );
              } else if (!rep.metrics.includes(v.name)) rep.metrics.push(v.name);
            } else this.err(v.span, `expected a metric name, found ${describe(v)}`);
          }
        }
      }
    }
    if (!any || rep.tables.length === 0) rep.tables = ["vms"];
    return rep;
  }

  /** `window A..B` (the window the run's figures cover) or `period T` (of the time series). */
  private reportTime(rep: ReportSpec, s: SettingAst): void {
    const v = s.values[0];
    if (s.values.length !== 1 || !v) {
      this.err(
        s.span,
        `report ${s.key} takes one value, e.g. ${s.key === "window" ? "2s..6s" : "50ms"}`,
      );
      return;
    }
    if (s.key === "window") {
      if (v.k !== "range") {
        this.err(v.span, `expected a window such as 2s..6s or 1s.., found ${describe(v)}`);
        return;
      }
      const from = v.from ? this.time(v.from, "window start") : 0;
      const to = v.to ? this.time(v.to, "window end") : undefined;
      if (from === undefined || (v.to && to === undefined)) return;
      if (to !== undefined && to <= from) {
        this.err(v.span, `empty window ${describe(v)}: the end must come after the start`);
        return;
      }
      rep.window = to === undefined ? { from } : { from, to };
      return;
    }
    if (v.k !== "num") {
      this.err(v.span, `expected a sampling period such as 50ms, found ${describe(v)}`);
      return;
    }
    const t = this.time(v.num, "report period", 1000, 3600 * S);
    if (t !== undefined) rep.periodNs = t;
  }

  // ---- whole scenario ----------------------------------------------------------------------

  run(items: ItemAst[], mainFile: string): Scenario {
    let name = mainFile === "-" ? "stdin" : mainFile.replace(/^.*[\\/]/, "").replace(/\.gvt$/, "");
    // `scenario` and `seed` of included files are ignored: the main file names the run.
    const scen = items.filter((i) => i.k === "scenario" && i.span.file === mainFile);
    if (scen[0]?.k === "scenario") name = scen[0].name;
    for (const s of scen.slice(1)) this.err(s.span, "duplicate scenario name");
    let seed = DEFAULT_SEED;
    const seeds = items.filter((i): i is Extract<ItemAst, { k: "seed" }> =>
      i.k === "seed" && i.span.file === mainFile
    );
    for (const s of seeds.slice(1)) this.err(s.span, "duplicate seed");
    if (seeds[0]) {
      const v = this.count(seeds[0].value, "seed", 0, 2 ** 32 - 1);
      if (v !== undefined) seed = v;
    }
    if (this.opts.seed !== undefined) seed = this.opts.seed;
    let warmup: number | undefined;
    const warmups = items.filter((i): i is Extract<ItemAst, { k: "warmup" }> =>
      i.k === "warmup" && i.span.file === mainFile
    );
    for (const w of warmups.slice(1)) this.err(w.span, "duplicate warmup");
    if (warmups[0]) warmup = this.time(warmups[0].value, "warmup");

    this.declareVms(items);
    const { host, hv, sched, decls } = this.host(items);
    this.hostDecls = decls;
    const types = this.types(items, host);

    const workloads: Record<string, WorkloadSpec> = {};
    const wlSpans = new Map<string, Span>();
    for (const it of items) {
      if (it.k !== "workload") continue;
      const prev = wlSpans.get(it.name);
      if (prev) {
        this.err(
          it.span,
          `duplicate workload '${it.name}' (first declared at ${prev.file}:${prev.line})`,
        );
        continue;
      }
      wlSpans.set(it.name, it.span);
      workloads[it.name] = { name: it.name, body: this.ops(it.body), loc: loc(it.span) };
    }
    const vms = this.vms(items, types, workloads, host, decls);
    for (const vm of vms) if (vm.host) this.vmHost.set(vm.name, vm.host);
    const { events, duration } = this.timeline(items);
    const started = new Set<string>();
    for (const e of events) if (e.action.kind === "start") started.add(e.action.vm);
    for (const vm of vms) {
      if (started.has(vm.name)) {
        const decl = items.find((i) =>
          i.k === "vm" && i.stmts.some((s) => s.k === "setting" && s.setting.key === "start") &&
          (i.name === vm.name || (i.count && vm.name.startsWith(i.name)))
        );
        vm.autostart = decl !== undefined;
      }
    }
    this.lifeCycle(events, vms);
    for (const vm of vms) {
      if (vm.start > duration) {
        this.err(
          { ...vm.loc, len: vm.name.length },
          `vm '${vm.name}' starts at ${formatTime(vm.start)}, after the end of the run (${
            formatTime(duration)
          })`,
        );
      }
    }
    if (warmup !== undefined && warmup >= duration) {
      this.err(
        warmups[0].span,
        `warmup ${formatTime(warmup)} leaves nothing to measure: the run ends at ${
          formatTime(duration)
        }`,
      );
    }
    const expects = this.expects(items);
    const report = this.report(items);
    return {
      name,
      file: mainFile,
      seed,
      host,
      ...(decls ? { hosts: decls } : {}),
      types,
      hypervisor: hv,
      scheduler: sched,
      workloads,
      vms,
      timeline: events,
      duration,
      expects,
      report,
      ...(warmup ? { warmup } : {}),
    };
  }
}

/** Functions a report may show per VM (extra arguments get the report's defaults). */
function isVmMetric(name: string): boolean {
  const f = findFunction(name);
  return !!f && f.args[0] === "vm" && f.unit !== "state" && !f.args.includes("string");
}

type EUnit = "none" | "time" | "size" | "rate" | "percent";

function compatible(a: EUnit, b: EUnit): boolean {
  return a === b || a === "none" || b === "none";
}

function unitName(u: EUnit): string {
  return u === "none" ? "a plain number" : dimensionName(u);
}

function argKindName(k: string, article = true): string {
  const names: Record<string, string> = {
    vm: "vm",
    engine: "engine",
    percentile: "percentile",
    trap_kind: "trap kind",
    string: "counter name",
  };
  const n = names[k] ?? k;
  return article
    ? `a ${n} name`.replace("a percentile name", "a percentile (p50, p90, p99, max)")
    : n;
}

function describe(v: ValueAst): string {
  switch (v.k) {
    case "num":
      return `'${v.num.raw}'`;
    case "str":
      return `the string "${v.value}"`;
    case "id":
      return `'${v.name}'`;
    case "call":
      return `the call '${v.name}(...)'`;
    case "range":
      return `the window '${v.from?.raw ?? ""}..${v.to?.raw ?? ""}'`;
  }
}

function availabilityNote(types: VgpuTypeSpec[], host: HostSpec): string {
  const free = initialFree(host);
  return "available instances on an empty host: " +
    types.map((t) => `${t.name}: ${availableInstances(t, free, host.gscale === true)}`).join(", ");
}

/**
 * Defaults of a migration: a 10 Gbit/s link, gMig's hashing on, QEMU's default downtime
 * goal (300 ms) and round limit (30), 1 us to hash a 4 KiB page in software (4 GB/s).
 */
export const DEFAULT_MIGRATION: Readonly<MigrationOptions> = {
  bandwidth: 1.25e9,
  hashing: true,
  maxDowntime: 300e6,
  maxRounds: 30,
  hashCost: 1000,
};

const HOST_KEYS = [
  "aperture",
  "ggtt",
  "fences",
  "engines",
  "host_aperture",
  "host_hidden",
  "host_fences",
  "refresh",
  "out_of_sync",
  "invariants",
  "scan_ppgtt",
  "blit_data",
  "gscale",
];

/** Host setting names (for completion). */
export const HOST_SETTINGS: readonly string[] = HOST_KEYS;

/**
 * Checks the declarations of a scenario (include files already spliced in, in order) and
 * builds the {@link Scenario}. Never throws; problems become diagnostics.
 */
export function checkItems(
  items: ItemAst[],
  mainFile: string,
  opts: CheckOptions = {},
): CheckResult {
  const c = new Checker(opts);
  const scenario = c.run(items, mainFile);
  const failed = c.diags.some((d) => d.severity === "error");
  return { scenario: failed ? undefined : scenario, diagnostics: c.diags };
}
