/**
 * The abstract syntax tree the visitor builds from the CST: close to the source, with a
 * location on every node, no meaning attached yet (the checker gives it meaning).
 */

import type { Loc } from "../core/scenario.ts";

/** A source span: a {@link Loc} plus its length in characters (for the caret line). */
export interface Span extends Loc {
  /** Length in characters (at least 1). */
  len: number;
}

/** A number as written: value, unit suffix ("" if none) and the raw text. */
export interface NumLit {
  /** Numeric value before unit conversion. */
  value: number;
  /** Unit suffix as written (`ms`, `MiB`, `%`, `x1200`, ...), "" if none. */
  unit: string;
  /** The token text. */
  raw: string;
  /** Where. */
  span: Span;
}

/** A setting value. */
export type ValueAst =
  | { k: "num"; num: NumLit; span: Span }
  | { k: "str"; value: string; span: Span }
  | { k: "id"; name: string; span: Span }
  | { k: "call"; name: string; args: ValueAst[]; span: Span }
  | { k: "range"; from?: NumLit; to?: NumLit; span: Span };

/** `NAME value*`. */
export interface SettingAst {
  /** Setting name. */
  key: string;
  /** Values after it. */
  values: ValueAst[];
  /** Span of the key. */
  span: Span;
}

/** A fault rule as written. */
export interface FaultAst {
  /** MPT op name. */
  op: string;
  /** Span of the op name. */
  opSpan: Span;
  /** Action name. */
  action: string;
  /** Span of the action name. */
  actionSpan: Span;
  /** Optional delay or amount after the action. */
  amount?: NumLit;
  /** `after N calls`. */
  after?: NumLit;
  /** `for N calls`. */
  count?: NumLit;
  /** `vm NAME`. */
  vm?: { name: string; span: Span };
  /** `at TIME`. */
  at?: NumLit;
  /** Span of the `fault` keyword. */
  span: Span;
}

/** A host statement. */
export type HostStmtAst =
  | {
    k: "hypervisor";
    name: string;
    isPath: boolean;
    params: { key: string; value: ValueAst; span: Span }[];
    costs: SettingAst[];
    faults: FaultAst[];
    span: Span;
  }
  | { k: "scheduler"; policy: string; settings: SettingAst[]; span: Span }
  | { k: "cost"; command: string; cmdSpan: Span; value?: NumLit; span: Span }
  | { k: "setting"; setting: SettingAst };

/** A workload step. */
export type OpAst =
  | { k: "batch"; engine: string; mix: SettingAst[]; span: Span }
  | { k: "every"; period: NumLit; body: OpAst[]; span: Span }
  | { k: "at"; rate: NumLit; body: OpAst[]; span: Span }
  | { k: "repeat"; count: NumLit | "forever"; body: OpAst[]; span: Span }
  | { k: "think"; value: ValueAst; span: Span }
  | { k: "wait"; what: string; whatSpan: Span; span: Span }
  | { k: "flip"; span: Span }
  | { k: "choose"; options: { weight: NumLit; body: OpAst[] }[]; span: Span }
  | { k: "map" | "unmap"; value: ValueAst; huge: boolean; span: Span }
  | { k: "pte_rewrite"; value: ValueAst; span: Span }
  | { k: "misbehave"; kind: string; kindSpan: Span; count?: NumLit; span: Span };

/** A timeline entry. */
export type TimelineStmtAst =
  | { k: "run"; duration: NumLit; span: Span }
  | { k: "fault"; at: NumLit; fault: FaultAst; span: Span }
  | {
    k: "misbehave";
    at: NumLit;
    vm: string;
    vmSpan: Span;
    kind: string;
    kindSpan: Span;
    count?: NumLit;
    span: Span;
  }
  | { k: "action"; at: NumLit; action: SettingAst; span: Span };

/** An expression. */
export type ExprAst =
  | { k: "num"; num: NumLit; span: Span }
  | { k: "call"; fn: string; args: ValueAst[]; span: Span }
  | { k: "neg"; e: ExprAst; span: Span }
  | { k: "bin"; op: "+" | "-" | "*" | "/"; a: ExprAst; b: ExprAst; span: Span };

/** A predicate. */
export type PredicateAst =
  | { k: "cmp"; op: string; left: ExprAst; right: ExprAst; span: Span }
  | { k: "within"; left: ExprAst; tol: NumLit; target: ExprAst; span: Span }
  | { k: "is"; left: ExprAst; state: string; stateSpan: Span; span: Span };

/** A top-level declaration. */
export type ItemAst =
  | { k: "scenario"; name: string; span: Span }
  | { k: "seed"; value: NumLit; span: Span }
  | { k: "warmup"; value: NumLit; span: Span }
  | { k: "include"; path: string; span: Span }
  | { k: "param"; name: string; value: ValueAst; span: Span }
  | {
    k: "host";
    /** Host name (`host a skylake`); absent for the single unnamed host. */
    name?: string;
    nameSpan?: Span;
    gpu?: string;
    gpuSpan?: Span;
    stmts: HostStmtAst[];
    span: Span;
  }
  | { k: "type"; name: string; settings: SettingAst[]; span: Span }
  | { k: "vm"; name: string; count?: NumLit; stmts: VmStmtAst[]; span: Span }
  | { k: "workload"; name: string; body: OpAst[]; span: Span }
  | { k: "timeline"; stmts: TimelineStmtAst[]; span: Span }
  | { k: "expect"; pred: PredicateAst; text: string; span: Span }
  | { k: "report"; settings: SettingAst[]; span: Span };

/** A vm statement. */
export type VmStmtAst =
  | { k: "type" | "run" | "host"; name: string; span: Span }
  | { k: "setting"; setting: SettingAst };

/** One parsed file. */
export interface FileAst {
  /** Path as given. */
  file: string;
  /** Declarations in order. */
  items: ItemAst[];
}
