/**
 * Evaluates a scenario's `expect` lines against the results of a run. The functions are
 * the ones the DSL checker accepts (dsl/functions.ts); names and argument kinds were
 * already validated, so an unknown VM here can only mean a VM that never existed. A call
 * with its own window (`share(vm, rcs, 2s..6s)`) is measured by a {@link WindowedValues}
 * from the run's time-resolved records; without one it reads the results.
 */

import type { Expectation, Expr, MeasureWindow, Predicate } from "../scenario.ts";
import type { ExpectationResult, Results, VmResult } from "./results.ts";
import { findFunction } from "../../dsl/functions.ts";

/** Raised for a value that cannot be computed (reported as a failed expectation). */
class EvalError extends Error {}

/** Measures a result function over a window (core/metrics/collect.ts builds one per run). */
export interface WindowedValues {
  /** `fn(args)` over `window`; throws an Error with a message when it cannot be measured. */
  value(fn: string, args: (string | number)[], window: MeasureWindow): number;
}

function vmOf(r: Results, name: string | number): VmResult {
  const vm = r.vms.find((v) => v.name === String(name));
  if (!vm) throw new EvalError(`no VM named ${name}`);
  return vm;
}

/** The value of one result function call. */
export function callValue(r: Results, fn: string, args: (string | number)[]): number {
  const vm = () => vmOf(r, args[0]);
  switch (fn) {
    case "fps":
      return vm().fps;
    case "frames":
      return vm().frames;
    case "share": {
      const v = vm();
      const engine = (args[1] ?? "rcs") as keyof VmResult["engines"];
      if (!v.engines[engine]) throw new EvalError(`no engine ${engine}`);
      return v.engines[engine].share;
    }
    case "busy": {
      const engine = String(args[1] ?? "rcs") as keyof VmResult["engines"];
      return vm().engines[engine]?.busyNs ?? 0;
    }
    case "latency": {
      const p = String(args[1] ?? "p50") as "p50" | "p90" | "p99" | "max" | "mean";
      return vm().latency[p];
    }
    case "traps":
      return vm().traps[args.length > 1 ? String(args[1]) : "total"] ?? 0;
    case "throughput":
      return vm().throughput;
    case "violations":
      return r.isolation.violations;
    case "downtime": {
      const name = vm().name;
      const done = (r.migrations ?? []).filter((m) => m.vm === name && m.outcome === "done");
      if (done.length === 0) throw new EvalError(`${name} completed no live migration`);
      return done.reduce((t, m) => t + m.downtimeNs, 0);
    }
    case "counter":
      return vm().counters[String(args[1])] ?? 0;
    case "gcounter":
      return r.counters[String(args[0])] ?? r.scheduler.counters[String(args[0])] ??
        r.hypervisor.counters[String(args[0])] ?? 0;
    case "native_pct": {
      const v = vm();
      if (v.nativePct === undefined) throw new EvalError(`no native baseline for ${v.name}`);
      return v.nativePct;
    }
    default:
      throw new EvalError(`unknown function ${fn}`);
  }
}

/** Evaluates a numeric expression (`windows` measures calls that carry a window). */
export function evalExpr(r: Results, e: Expr, windows?: WindowedValues): number {
  switch (e.k) {
    case "num":
      return e.value;
    case "call":
      if (e.window === undefined) return callValue(r, e.fn, e.args);
      if (!windows) throw new EvalError("a window needs the run's time line (not in results)");
      try {
        return windows.value(e.fn, e.args, e.window);
      } catch (err) {
        throw new EvalError(err instanceof Error ? err.message : String(err));
      }
    case "bin": {
      const a = evalExpr(r, e.a, windows), b = evalExpr(r, e.b, windows);
      if (e.op === "+") return a + b;
      if (e.op === "-") return a - b;
      if (e.op === "*") return a * b;
      if (b === 0) throw new EvalError("division by zero");
      return a / b;
    }
  }
}

/** The unit of an expression when it is one result-function call (e.g. "ns" for latency). */
function exprUnit(e: Expr): string | undefined {
  return e.k === "call" ? findFunction(e.fn)?.unit : undefined;
}

/** A number for people: times in the largest unit that keeps it short. */
export function showValue(x: number, unit: string | undefined): string {
  if (unit !== "ns") return String(round(x));
  const a = Math.abs(x);
  if (a >= 1e9) return `${round(x / 1e9)}s`;
  if (a >= 1e6) return `${round(x / 1e6)}ms`;
  if (a >= 1e3) return `${round(x / 1e3)}us`;
  return `${round(x)}ns`;
}

function judge(
  r: Results,
  p: Predicate,
  windows?: WindowedValues,
): { pass: boolean; actual: number | string; expected: string; unit?: string } {
  switch (p.k) {
    case "state": {
      const actual = vmOf(r, p.vm).state;
      return { pass: actual === p.state, actual, expected: p.state };
    }
    case "cmp": {
      const a = evalExpr(r, p.left, windows), b = evalExpr(r, p.right, windows);
      const ok =
        { ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a === b, "!=": a !== b }[p.op];
      const unit = exprUnit(p.left);
      return {
        pass: ok,
        actual: round(a),
        expected: `${p.op} ${showValue(b, unit)}`,
        ...(unit ? { unit } : {}),
      };
    }
    case "within": {
      const a = evalExpr(r, p.left, windows), t = evalExpr(r, p.target, windows);
      const tol = p.relative ? Math.abs(t) * p.tolerance : p.tolerance;
      const unit = exprUnit(p.left);
      return {
        pass: Math.abs(a - t) <= tol,
        actual: round(a),
        expected: p.relative
          ? `within ${round(p.tolerance * 100)}% of ${showValue(t, unit)}`
          : `within ${showValue(tol, unit)} of ${showValue(t, unit)}`,
        ...(unit ? { unit } : {}),
      };
    }
  }
}

function round(x: number): number {
  return Number.isInteger(x) ? x : Number(x.toPrecision(6));
}

/** Evaluates every expectation in order (`windows` measures calls with a window). */
export function evaluateExpectations(
  r: Results,
  expects: Expectation[],
  windows?: WindowedValues,
): ExpectationResult[] {
  return expects.map((e) => {
    const base = { file: e.loc.file, line: e.loc.line, col: e.loc.col, text: e.text };
    try {
      return { ...base, ...judge(r, e.pred, windows) };
    } catch (err) {
      if (!(err instanceof EvalError)) throw err;
      return { ...base, pass: false, actual: "n/a", expected: err.message };
    }
  });
}
