/**
 * Scenario parameters: `param NAME VALUE` at the top level of the main file declares a
 * parameter with a default, `$NAME` stands for its value anywhere a value may be written,
 * and `-D NAME=VALUE` (a {@link LoadOptions.defines} entry) overrides the default.
 *
 * A reference is replaced by the value's tokens before parsing, located at the reference, so
 * the grammar, the AST and the checker see an ordinary value and check it where it is used
 * (a VM count, a policy name, a workload step, an expectation). The value's unit gives the
 * parameter its type: a `-D` value must have the same one (a time for a time, a name or a
 * string for a name), and a distribution such as `exp(2ms)` has the type of its numbers.
 */

import type { IToken, TokenType } from "chevrotain";
import type { Span } from "./ast.ts";
import type { Diagnostic } from "./diagnostics.ts";
import * as T from "./lexer.ts";
import { dimensionName, dimensionOf, unitHint } from "./units.ts";
import { unknownName } from "./checker.ts";
import { isParamName, isReservedName, reservedNameMessage } from "./names.ts";

/**
 * What a parameter's value is: a number of some dimension (`none` is a plain number), a name
 * or a quoted string.
 */
export type ParamKind =
  | "time"
  | "size"
  | "rate"
  | "percent"
  | "resolution"
  | "none"
  | "name"
  | "string";

/** A declared parameter and the value it has in this load. */
export interface ParamInfo {
  /** Name (without the `$`). */
  name: string;
  /** Its type, from the default value's unit. */
  kind: ParamKind;
  /** The default as written in the `param` declaration. */
  defaultText: string;
  /** The value used: a `-D` value if one was given, else the default. */
  value: string;
  /** True when a `-D` value overrode the default. */
  overridden: boolean;
  /** Where it is declared (the name in `param NAME VALUE`). */
  span: Span;
  /** How many `$NAME` references the scenario's files make. */
  uses: number;
}

/** Pseudo-file name of `-D NAME=VALUE` assignments in diagnostics (one per line). */
export const DEFINES_FILE = "(-D)";

/** The parameters of one load: declarations of the main file with the `-D` values applied. */
export class ParamScope {
  /** Parameters by name, in declaration order. */
  readonly params: Map<string, ParamInfo & { tokens: IToken[] }> = new Map();
  /** Problems of the declarations and of the `-D` assignments. */
  readonly diagnostics: Diagnostic[] = [];
  /** The `-D` assignments as a source (for the caret excerpts of their diagnostics). */
  readonly definesSource: string;
  /** Substituted references: parameter name by `file:line:col`. */
  private readonly refs = new Map<string, string>();
  /** Unknown references, as `file:line:col`: any other problem reported there follows from it. */
  private readonly unresolved = new Set<string>();

  /**
   * Collects the top-level `param` declarations of the main file's tokens and applies the
   * `-D NAME=VALUE` assignments.
   */
  constructor(mainTokens: readonly IToken[], mainFile: string, defines: readonly string[]) {
    this.definesSource = defines.join("\n");
    this.declare(mainTokens, mainFile);
    defines.forEach((d, i) => this.define(d, i + 1));
  }

  /** Public view of the parameters (no tokens). */
  list(): ParamInfo[] {
    return [...this.params.values()].map(({ tokens: _t, ...info }) => ({ ...info }));
  }

  private err(d: Omit<Diagnostic, "severity">): void {
    this.diagnostics.push({ ...d, severity: "error" });
  }

  /** Top-level `param NAME VALUE` statements: at brace depth 0, first on their statement. */
  private declare(tokens: readonly IToken[], file: string): void {
    for (const p of topLevelParams(tokens)) {
      const span = tokSpan(file, p.name);
      if (p.value.length === 0) continue; // the parser reports the missing value
      if (p.name.image.includes("-")) {
        this.err({
          ...span,
          message: `a parameter name is letters, digits and '_' ('${p.name.image}' has a '-', ` +
            `so $${p.name.image} would not refer to it)`,
        });
        continue;
      }
      const ref = p.value.find((t) => t.tokenType === T.ParamRef);
      if (ref) {
        this.err({
          ...tokSpan(file, ref),
          message: `the default of param ${p.name.image} must be a value, not another parameter`,
        });
        continue;
      }
      const kind = valueKind(p.value);
      if (typeof kind !== "string" || !isValue(p.value)) {
        if (typeof kind === "object" && kind.unit !== undefined) {
          this.err({ ...tokSpan(file, kind.tok), message: unknownUnitMessage(kind.unit) });
        }
        // other malformed values are the parser's to report
        continue;
      }
      const prev = this.params.get(p.name.image);
      if (prev) {
        this.err({
          ...span,
          message: `duplicate param '${p.name.image}' (first declared at line ${prev.span.line})`,
        });
        continue;
      }
      const text = tokensText(p.value);
      this.params.set(p.name.image, {
        name: p.name.image,
        kind,
        defaultText: text,
        value: text,
        overridden: false,
        span,
        uses: 0,
        tokens: p.value,
      });
    }
  }

  /** One `NAME=VALUE` assignment, line `line` of {@link DEFINES_FILE}. */
  private define(text: string, line: number): void {
    const at = (col: number, len: number) => ({ file: DEFINES_FILE, line, col, len });
    const eq = text.indexOf("=");
    const name = eq < 0 ? text : text.slice(0, eq);
    if (eq < 0 || !isParamName(name)) {
      this.err({
        ...at(1, Math.max(1, text.length)),
        message: `expected NAME=VALUE (a parameter name, '=' and its value), found '${text}'`,
      });
      return;
    }
    if (isReservedName(name)) {
      this.err({ ...at(1, name.length), message: reservedNameMessage(name, `-D ${name}`) });
      return;
    }
    const p = this.params.get(name);
    if (!p) {
      this.err({
        ...at(1, name.length),
        message: unknownName("parameter", name, [...this.params.keys()]),
        note: "a scenario declares its parameters with 'param NAME VALUE' in its main file",
      });
      return;
    }
    if (p.overridden) {
      this.err({ ...at(1, name.length), message: `-D ${name} is given twice` });
      return;
    }
    const valueText = text.slice(eq + 1);
    const vcol = eq + 2;
    const lexed = T.scenarioLexer.tokenize(valueText);
    const tokens = lexed.tokens;
    if (lexed.errors.length > 0 || !isValue(tokens)) {
      this.err({
        ...at(vcol, Math.max(1, valueText.length)),
        message: `-D ${name}: expected a value (a number with its unit, a name, a string or a ` +
          `distribution such as exp(2ms)), found '${valueText}'`,
      });
      return;
    }
    const word = tokens.find((t) => isReservedName(t.image));
    if (word) {
      this.err({
        ...at(vcol + (word.startOffset ?? 0), word.image.length),
        message: reservedNameMessage(word.image, `-D ${name}`),
      });
      return;
    }
    const kind = valueKind(tokens);
    const declared = `param ${name} is ${kindName(p.kind)} (default ${p.defaultText}, ` +
      `declared at ${p.span.file}:${p.span.line})`;
    if (typeof kind === "object") {
      const tcol = vcol + (kind.tok.startOffset ?? 0);
      this.err({
        ...at(tcol, kind.tok.image.length),
        message: kind.unit !== undefined
          ? unknownUnitMessage(kind.unit)
          : `-D ${name}: expected a value, found '${valueText}'`,
      });
      return;
    }
    if (!compatible(p.kind, kind)) {
      const missing = kind === "none" && isNumeric(p.kind);
      this.err({
        ...at(vcol, Math.max(1, valueText.length)),
        message: missing
          ? `missing unit: ${declared}, write e.g. '${valueText}${exampleUnit(p.kind)}'`
          : `unit mismatch: ${declared}, but '${valueText}' is ${kindName(kind)}`,
      });
      return;
    }
    p.value = tokensText(tokens);
    p.tokens = tokens;
    p.overridden = true;
  }

  /**
   * Replaces each `$NAME` in `tokens` by the parameter's value tokens, located at the
   * reference. An unknown name is a diagnostic, and its reference becomes a `0` so that
   * parsing goes on; what else is reported at it is dropped by {@link ParamScope.followsFromUnknown}.
   */
  substitute(tokens: IToken[], file: string): { tokens: IToken[]; diagnostics: Diagnostic[] } {
    const out: IToken[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const t of tokens) {
      if (t.tokenType !== T.ParamRef) {
        out.push(t);
        continue;
      }
      const name = t.image.slice(1);
      const p = this.params.get(name);
      if (!p) {
        const s = tokSpan(file, t);
        this.unresolved.add(`${file}:${s.line}:${s.col}`);
        diagnostics.push({
          ...s,
          severity: "error",
          message: unknownName("parameter", t.image, [...this.params.keys()].map((n) => "$" + n)),
          note: this.params.size === 0
            ? "declare it in the main file, e.g. 'param " + name + " 4'"
            : undefined,
        });
        out.push({
          ...t,
          image: "0",
          tokenType: T.Quantity,
          tokenTypeIdx: T.Quantity.tokenTypeIdx!,
        });
        continue;
      }
      p.uses++;
      this.refs.set(`${file}:${t.startLine}:${t.startColumn}`, name);
      for (const v of p.tokens) {
        out.push({
          ...v,
          startOffset: t.startOffset,
          endOffset: t.endOffset,
          startLine: t.startLine,
          endLine: t.endLine,
          startColumn: t.startColumn,
          endColumn: t.endColumn,
        });
      }
    }
    return { tokens: out, diagnostics };
  }

  /** Is `d` located at an unknown `$NAME` (so it only repeats that error)? */
  followsFromUnknown(d: { file: string; line: number; col: number }): boolean {
    return this.unresolved.has(`${d.file}:${d.line}:${d.col}`);
  }

  /** A note for a diagnostic located at a reference: what `$NAME` stood for. */
  noteFor(d: Diagnostic): string | undefined {
    const name = this.refs.get(`${d.file}:${d.line}:${d.col}`);
    const p = name === undefined ? undefined : this.params.get(name);
    if (!p) return undefined;
    return `$${p.name} is ${p.value} (${
      p.overridden
        ? `from -D ${p.name}=${p.value}`
        : `the default, declared at ${p.span.file}:${p.span.line}`
    })`;
  }

  /** Warnings for parameters no file refers to. */
  unusedWarnings(): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const p of this.params.values()) {
      if (p.uses === 0) {
        out.push({
          ...p.span,
          severity: "warning",
          message: `param '${p.name}' is never used (no $${p.name} in the scenario)`,
        });
      }
    }
    return out;
  }
}

/** A `param` statement of the top level found in a token list. */
interface ParamDecl {
  /** The name token. */
  name: IToken;
  /** The value's tokens (up to the end of the statement). */
  value: IToken[];
}

/** Top-level `param NAME value...` statements (depth 0, first on their statement). */
export function topLevelParams(tokens: readonly IToken[]): ParamDecl[] {
  const out: ParamDecl[] = [];
  let depth = 0;
  let atStart = true;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const type = t.tokenType;
    if (type === T.LCurly) depth++;
    else if (type === T.RCurly) depth = Math.max(0, depth - 1);
    if (depth === 0 && atStart && type === T.Param && tokens[i + 1]?.tokenType === T.Identifier) {
      const value: IToken[] = [];
      let j = i + 2;
      for (; j < tokens.length && !isSep(tokens[j].tokenType); j++) value.push(tokens[j]);
      out.push({ name: tokens[i + 1], value });
      i = j - 1;
      atStart = false;
      continue;
    }
    atStart = isSep(type) || type === T.RCurly;
  }
  return out;
}

function isSep(t: TokenType): boolean {
  return t === T.Semi || t === T.Newline;
}

/** Is the token list one value: `N`, `-N`, `"s"`, `name` or `name(args)`? */
function isValue(ts: readonly IToken[]): boolean {
  if (ts.length === 0) return false;
  const k = ts[0].tokenType;
  if (ts.length === 1) {
    return k === T.Quantity || k === T.StringLit || k === T.Identifier || isWord(k);
  }
  if (k === T.Minus) return ts.length === 2 && ts[1].tokenType === T.Quantity;
  if (!isWord(k) || ts[1].tokenType !== T.LParen || ts[ts.length - 1].tokenType !== T.RParen) {
    return false;
  }
  let depth = 0;
  for (let i = 1; i < ts.length; i++) {
    const t = ts[i].tokenType;
    if (t === T.LParen) depth++;
    else if (t === T.RParen && --depth === 0 && i !== ts.length - 1) return false;
    if (t === T.ParamRef) return false;
  }
  return depth === 0;
}

function isWord(t: TokenType): boolean {
  return t === T.Identifier || (t.CATEGORIES ?? []).includes(T.Word);
}

/** The kind of a value's tokens, or the token whose unit is unknown. */
function valueKind(ts: readonly IToken[]): ParamKind | { tok: IToken; unit?: string } {
  const num = ts.find((t) => t.tokenType === T.Quantity);
  if (ts.length === 1 && ts[0].tokenType === T.StringLit) return "string";
  if (ts.length === 1 && ts[0].tokenType !== T.Quantity) return "name";
  if (!num) return { tok: ts[0] };
  const unit = /^(?:\d+(?:\.\d+)?|\.\d+)(.*)$/.exec(num.image)?.[1] ?? "";
  const d = dimensionOf(unit);
  return d === undefined ? { tok: num, unit } : d;
}

function unknownUnitMessage(unit: string): string {
  const hint = unitHint(unit);
  return `unknown unit '${unit}'` + (hint ? ` (did you mean '${hint}'?)` : "");
}

function isNumeric(k: ParamKind): boolean {
  return k !== "name" && k !== "string";
}

function compatible(declared: ParamKind, given: ParamKind): boolean {
  if (!isNumeric(declared)) return !isNumeric(given);
  return declared === given;
}

/** A readable name of a kind, with an article. */
export function kindName(k: ParamKind): string {
  return k === "name" ? "a name" : k === "string" ? "a string" : dimensionName(k);
}

function exampleUnit(k: ParamKind): string {
  return k === "time"
    ? "ms"
    : k === "size"
    ? "MiB"
    : k === "rate"
    ? "Hz"
    : k === "percent"
    ? "%"
    : "";
}

/** The source text of a value's tokens (a call's arguments joined with ", "). */
function tokensText(ts: readonly IToken[]): string {
  let s = "";
  for (const t of ts) s += t.tokenType === T.Comma ? ", " : t.image;
  return s;
}

function tokSpan(file: string, t: IToken): Span {
  return {
    file,
    line: t.startLine ?? 1,
    col: t.startColumn ?? 1,
    len: Math.max(1, t.image.length),
  };
}
