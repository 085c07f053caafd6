/**
 * The scenario language: load a `.gvt` file (with its includes), parse it with error
 * recovery, check it, and get either a {@link Scenario} or located diagnostics.
 *
 * ```ts
 * const { scenario, diagnostics, sources } = loadScenario("scenarios/demo.gvt");
 * if (!scenario) console.error(formatDiagnostics(diagnostics, sources));
 * ```
 * @module
 */

import type { CstNode, IRecognitionException, IToken } from "chevrotain";
import type { Scenario } from "../core/scenario.ts";
import type { FileAst, ItemAst, Span } from "./ast.ts";
import { checkItems } from "./checker.ts";
import { type Diagnostic, formatDiagnostics, sortDiagnostics } from "./diagnostics.ts";
import { KEYWORDS, scenarioLexer } from "./lexer.ts";
import {
  DISTRIBUTIONS,
  FAULT_ACTIONS,
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
  SCHEDULER_PARAMS,
  SWITCH_WORDS,
  TIMELINE_ACTIONS,
  TRAP_KINDS,
  TYPE_SETTINGS,
  VM_ACTIONS,
  VM_SETTINGS,
  VM_STATES,
  WAIT_CONDITIONS,
} from "./functions.ts";
import { HOST_SETTINGS } from "./checker.ts";
import { ENGINE_NAMES } from "../core/scenario.ts";
import { MAX_SYNTAX_ERRORS, resetErrorBudget, scenarioParser, TooManyErrors } from "./parser.ts";
import { nestingProblem, sizeProblem } from "./limits.ts";
import { isReservedName, reservedNameMessage } from "./names.ts";
import { fixKeywordTypos } from "./typos.ts";
import { readSource } from "./source.ts";
import { AstBuilder } from "./visitor.ts";
import { DEFINES_FILE, type ParamInfo, ParamScope } from "./params.ts";

export {
  type Diagnostic,
  escapeControls,
  formatDiagnostics,
  type FormatOptions,
} from "./diagnostics.ts";
export {
  MAX_FILE_BYTES,
  MAX_NESTING,
  MAX_OPERATORS,
  MAX_TOTAL_BYTES,
  readScenarioFile,
} from "./limits.ts";
export { KEYWORDS, SOFT_KEYWORDS } from "./lexer.ts";
export { readSource, STDIN_PATH } from "./source.ts";
export {
  type ArgKind,
  findFunction,
  MISBEHAVIOURS,
  PERCENTILES,
  POLICIES,
  REPORT_TABLES,
  RESULT_FUNCTIONS,
  type ResultFunction,
  type ResultUnit,
  TRAP_KINDS,
  VM_STATES,
} from "./functions.ts";
export { DEFAULT_DURATION_NS, DEFAULT_SEED, HOST_SETTINGS, MAX_RUN_NS } from "./checker.ts";
export { DEFINES_FILE, type ParamInfo, type ParamKind } from "./params.ts";
export type * from "./ast.ts";
export type * from "../core/scenario.ts";

/**
 * Every word the language knows, sorted: keywords, setting names, functions and enumerated
 * values (for REPL completion).
 */
export const COMPLETIONS: readonly string[] = [
  ...new Set([
    ...KEYWORDS,
    ...HOST_SETTINGS,
    ...ENGINE_NAMES,
    ...RESULT_FUNCTIONS.map((f) => f.name),
    ...VM_STATES,
    ...PERCENTILES,
    ...TRAP_KINDS,
    ...POLICIES,
    ...SCHEDULER_PARAMS,
    ...MISBEHAVIOURS,
    ...HYPERVISORS,
    ...GPU_PROFILES,
    ...FAULT_ACTIONS,
    ...VM_ACTIONS,
    ...REPORT_TABLES,
    ...VM_SETTINGS,
    ...TYPE_SETTINGS,
    ...MIX_KINDS,
    ...WAIT_CONDITIONS,
    ...Object.keys(DISTRIBUTIONS),
    ...REPORT_SETTINGS,
    ...TIMELINE_ACTIONS,
    ...MIGRATE_OPTIONS,
    ...SWITCH_WORDS,
  ]),
].sort();

/** Options of {@link loadScenario} and {@link parseScenarioText}. */
export interface LoadOptions {
  /** Reads a file (default {@link readSource}: `-` is stdin); may throw, which becomes a diagnostic. */
  readFile?: (path: string) => string;
  /** Seed override (the CLI's `--seed`). */
  seed?: number;
  /**
   * Parameter values, `NAME=VALUE` each (the CLI's `-D`), overriding the defaults of the
   * main file's `param` declarations; problems are located at `(-D):N:col`.
   */
  defines?: readonly string[];
}

/** What loading a scenario gives. */
export interface LoadResult {
  /** The checked scenario, present only when there is no error. */
  scenario?: Scenario;
  /** All diagnostics (syntax and semantic), sorted by file, line and column. */
  diagnostics: Diagnostic[];
  /** Every source read, by path (for {@link formatDiagnostics}). */
  sources: Map<string, string>;
  /** The scenario's parameters (`param`), with the values this load used. */
  params: ParamInfo[];
}

/** Result of {@link parseFile}. */
export interface ParseResult {
  /** The AST (partial when there were syntax errors). */
  ast: FileAst;
  /** Lexical and syntax errors. */
  diagnostics: Diagnostic[];
}

/** The position just after the last character of `text` (for errors at the end of input). */
function endOf(file: string, text: string): Span {
  const lines = text.split("\n");
  const last = lines[lines.length - 1] ?? "";
  if (last.length === 0 && lines.length > 1) {
    return { file, line: lines.length - 1, col: lines[lines.length - 2].length + 1, len: 1 };
  }
  return { file, line: lines.length, col: last.length + 1, len: 1 };
}

function tokenSpan(file: string, text: string, t: IToken | undefined): Span {
  if (
    !t || t.tokenType?.name === "EOF" || !Number.isFinite(t.startLine) ||
    !Number.isFinite(t.startColumn)
  ) {
    return endOf(file, text);
  }
  return {
    file,
    line: t.startLine as number,
    col: t.startColumn as number,
    len: Math.max(1, t.image.length),
  };
}

/**
 * Lexes, parses and builds the AST of one file. Syntax only: no includes, no checking.
 * `$NAME` references take their values from `scope` (default: the file's own `param`s).
 */
export function parseFile(text: string, file: string, scope?: ParamScope): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const lex = scenarioLexer.tokenize(text);
  for (const e of lex.errors) {
    const ch = text.slice(e.offset, e.offset + e.length);
    diagnostics.push({
      file,
      line: e.line ?? 1,
      col: e.column ?? 1,
      len: Math.max(1, Math.min(e.length, 1)),
      severity: "error",
      message: ch.startsWith('"')
        ? "unterminated string: expected a closing '\"' on the same line"
        : ch.startsWith("%")
        ? "unexpected '%': write a percentage without a space, e.g. 10%"
        : `unexpected character '${printable(ch.slice(0, 1))}'`,
    });
  }
  diagnostics.push(...reservedWords(lex.tokens, file));
  const tooDeep = nestingProblem(lex.tokens, file);
  if (tooDeep) {
    // the parser and checker recurse per level: such input is refused, not parsed
    diagnostics.push(tooDeep);
    return { ast: { file, items: [] }, diagnostics };
  }
  const fixed = fixKeywordTypos(lex.tokens, file);
  diagnostics.push(...fixed.diagnostics);
  const params = scope ?? new ParamScope(fixed.tokens, file, []);
  const sub = params.substitute(fixed.tokens, file);
  diagnostics.push(...sub.diagnostics);
  scenarioParser.input = sub.tokens;
  resetErrorBudget();
  let cst: CstNode | undefined;
  try {
    cst = scenarioParser.file();
  } catch (e) {
    if (!(e instanceof TooManyErrors)) throw e;
  }
  const errs: IRecognitionException[] = scenarioParser.errors;
  const seen = new Set<string>();
  let last: Span | undefined;
  for (const e of errs) {
    const s = tokenSpan(file, text, e.token);
    last = s;
    const key = `${s.line}:${s.col}:${e.message}`;
    if (seen.has(key) || params.followsFromUnknown(s)) continue;
    seen.add(key);
    diagnostics.push({ ...s, severity: "error", message: e.message });
  }
  if (cst === undefined) {
    diagnostics.push({
      ...(last ?? endOf(file, text)),
      severity: "error",
      message: `more than ${MAX_SYNTAX_ERRORS} syntax errors: the rest of the file is not read`,
    });
    return { ast: { file, items: [] }, diagnostics };
  }
  let ast: FileAst = { file, items: [] };
  try {
    ast = new AstBuilder(file, text).visit(cst) as FileAst ?? ast;
  } catch (e) {
    diagnostics.push({
      ...endOf(file, text),
      severity: "error",
      message: `internal error while reading the syntax tree: ${
        e instanceof Error ? e.message : String(e)
      }`,
    });
  }
  return { ast, diagnostics };
}

/** A reserved word used as a name or `$name` ({@link RESERVED_NAMES}): an error at each. */
function reservedWords(tokens: readonly IToken[], file: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const t of tokens) {
    const word = t.image.startsWith("$") ? t.image.slice(1) : t.image;
    if (!isReservedName(word)) continue;
    out.push({
      ...tokenSpan(file, "", t),
      severity: "error",
      message: reservedNameMessage(word),
      note: RESERVED_NOTE,
    });
  }
  return out;
}

/** The note of a reserved word's error; what else the checker says there follows from it. */
const RESERVED_NOTE = 'every other word works as a name (docs/dsl.md, "Lexical structure")';

function printable(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code < 32 || code === 127 ? `\\x${code.toString(16).padStart(2, "0")}` : c;
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i);
}

function normalize(p: string): string {
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (part === ".." && abs) continue;
    else out.push(part);
  }
  const s = out.join("/");
  return abs ? "/" + s : s === "" ? "." : s;
}

/** Resolves an include path against the including file. */
export function resolveInclude(from: string, inc: string): string {
  return inc.startsWith("/") ? normalize(inc) : normalize(dirname(from) + "/" + inc);
}

interface Loader {
  readFile: (p: string) => string;
  /** Characters of every source read so far. */
  total: number;
  scope: ParamScope;
  sources: Map<string, string>;
  diags: Diagnostic[];
  done: Set<string>;
  syntaxErrors: boolean;
}

function expand(l: Loader, file: string, text: string, stack: string[]): ItemAst[] {
  const { ast, diagnostics } = parseFile(text, file, l.scope);
  if (diagnostics.length > 0) l.syntaxErrors = true;
  l.diags.push(...diagnostics);
  const out: ItemAst[] = [];
  for (const it of ast.items) {
    if (it.k === "param" && stack.length > 1) {
      l.diags.push({
        ...it.span,
        severity: "error",
        message: `param '${it.name}' is declared in an included file; scenario parameters are ` +
          `declared in the main file (${stack[0]}), where -D can override them`,
      });
      continue;
    }
    if (it.k !== "include") {
      out.push(it);
      continue;
    }
    const target = resolveInclude(file, it.path);
    if (stack.includes(target)) {
      const cycle = [...stack.slice(stack.indexOf(target)), target].join(" -> ");
      l.diags.push({ ...it.span, severity: "error", message: `include cycle: ${cycle}` });
      continue;
    }
    if (l.done.has(target)) continue; // each file is included once
    let src: string;
    try {
      src = l.readFile(target);
      l.total += src.length;
      const big = sizeProblem(target, src, l.total);
      if (big) throw new Error(big.message);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      l.diags.push({
        ...it.span,
        severity: "error",
        message: `cannot read include file '${it.path}' (resolved to '${target}'): ${why}`,
      });
      continue;
    }
    l.done.add(target);
    l.sources.set(target, src);
    out.push(...expand(l, target, src, [...stack, target]));
  }
  return out;
}

function run(
  file: string,
  text: string,
  opts: LoadOptions,
  sources: Map<string, string>,
): LoadResult {
  const big = sizeProblem(file, text, text.length);
  if (big) {
    sources.set(file, "");
    return { diagnostics: [big], sources, params: [] };
  }
  const scope = new ParamScope(scenarioLexer.tokenize(text).tokens, file, opts.defines ?? []);
  const l: Loader = {
    readFile: opts.readFile ?? ((p) => readSource(p, { include: true })),
    total: text.length,
    scope,
    sources,
    diags: [],
    done: new Set([normalize(file)]),
    syntaxErrors: false,
  };
  sources.set(file, text);
  if (opts.defines?.length) sources.set(DEFINES_FILE, scope.definesSource);
  try {
    const items = expand(l, file, text, [normalize(file)]);
    const checked = checkItems(items, file, { seed: opts.seed, partial: l.syntaxErrors });
    const reserved = new Set(
      l.diags.filter((d) => d.note === RESERVED_NOTE).map((d) => `${d.file}:${d.line}:${d.col}`),
    );
    checked.diagnostics = checked.diagnostics.filter((d) =>
      !scope.followsFromUnknown(d) && !reserved.has(`${d.file}:${d.line}:${d.col}`)
    );
    for (const d of checked.diagnostics) {
      const note = scope.noteFor(d);
      if (note) d.note = d.note ? `${d.note}; ${note}` : note;
    }
    const diagnostics = sortDiagnostics(
      [...scope.diagnostics, ...l.diags, ...checked.diagnostics, ...scope.unusedWarnings()],
      [...sources.keys()],
    );
    const failed = diagnostics.some((d) => d.severity === "error");
    const params = scope.list();
    return {
      scenario: failed ? undefined : checked.scenario,
      diagnostics: capDiagnostics(diagnostics),
      sources,
      params,
    };
  } catch (e) {
    // The checker is written not to throw; this keeps the promise if it ever does.
    return {
      diagnostics: [...l.diags, {
        file,
        line: 1,
        col: 1,
        len: 1,
        severity: "error",
        message: `internal error: ${e instanceof Error ? e.message : String(e)}`,
      }],
      sources,
      params: [],
    };
  }
}

/** Most diagnostics reported for one scenario; the rest are counted in a last one. */
export const MAX_DIAGNOSTICS = 200;

function capDiagnostics(diags: Diagnostic[]): Diagnostic[] {
  if (diags.length <= MAX_DIAGNOSTICS) return diags;
  const shown = diags.slice(0, MAX_DIAGNOSTICS);
  const last = shown[shown.length - 1];
  const more = diags.length - MAX_DIAGNOSTICS;
  return [...shown, {
    ...last,
    severity: "error",
    message: `${more} more diagnostic${more === 1 ? "" : "s"} not shown`,
    note: undefined,
  }];
}

/**
 * Loads, parses and checks a scenario file and the files it includes (`include "x.gvt"`,
 * relative to the including file; each file once; a cycle is an error). Never throws:
 * an unreadable main file is a diagnostic too.
 */
export function loadScenario(path: string, opts: LoadOptions = {}): LoadResult {
  const sources = new Map<string, string>();
  let text: string;
  try {
    text = (opts.readFile ?? readSource)(path);
  } catch (e) {
    return {
      diagnostics: [{
        file: path,
        line: 1,
        col: 1,
        len: 1,
        severity: "error",
        message: `cannot read '${path}': ${e instanceof Error ? e.message : String(e)}`,
      }],
      sources,
      params: [],
    };
  }
  return run(path, text, opts, sources);
}

/**
 * Parses and checks scenario text held in memory (tests, the REPL). `file` names it in
 * diagnostics and is the base for includes.
 */
export function parseScenarioText(text: string, file: string, opts: LoadOptions = {}): LoadResult {
  return run(file, text, opts, new Map());
}

/** Formats a {@link LoadResult}'s diagnostics (convenience for CLIs). */
export function formatResult(r: LoadResult, color = false): string {
  return formatDiagnostics(r.diagnostics, r.sources, { color });
}
