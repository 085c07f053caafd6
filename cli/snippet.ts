/**
 * One DSL statement checked against a loaded scenario, as the REPL takes it from the user and
 * a checkpoint's journal replays it: the statement is appended to the main file (includes
 * served from the loaded sources only) and the whole scenario is checked again, so it means
 * exactly what it would in the file. Errors are one line.
 * @module
 */

import { DEFINES_FILE, parseScenarioText } from "../dsl/mod.ts";
import type { Scenario, TimelineAction } from "../core/scenario.ts";

/** The scenario a statement is checked against. */
export interface SnippetContext {
  /** Main scenario file (as loaded). */
  file: string;
  /** Every source of the scenario, by path. */
  sources: ReadonlyMap<string, string>;
  /** Seed of the world. */
  seed?: number;
}

/** A statement that does not check: one line. */
export class SnippetError {
  /**
   * Creates it.
   * @param message what is wrong
   */
  constructor(readonly message: string) {}
}

/**
 * Checks `wrap(user)` appended to the main file; the checked scenario and the line the
 * statement starts on.
 */
export function parseSnippet(
  ctx: SnippetContext,
  user: string,
  wrap: (s: string) => string,
): { scenario: Scenario; line: number } | SnippetError {
  if (/[{};#\n]/.test(user)) {
    return new SnippetError("one statement, without braces, ';' or comments");
  }
  const src = ctx.sources.get(ctx.file) ?? "";
  const base = src.endsWith("\n") ? src : src + "\n";
  const line = base.split("\n").length;
  const text = base + wrap(user) + "\n";
  const readFile = (p: string): string => {
    const s = ctx.sources.get(p);
    if (s === undefined) throw new Error(`'${p}' was not part of the loaded scenario`);
    return s;
  };
  // `-D` values travel as the (-D) pseudo-source, one NAME=VALUE per line
  const defines = ctx.sources.get(DEFINES_FILE)?.split("\n");
  const r = parseScenarioText(text, ctx.file, { readFile, seed: ctx.seed, defines });
  const mine = r.diagnostics.filter((d) =>
    d.severity === "error" && d.file === ctx.file && d.line >= line
  );
  if (mine.length) {
    return new SnippetError(
      mine[0].message.replace("found '}'", "found the end of the statement"),
    );
  }
  if (!r.scenario) {
    const d = r.diagnostics.find((x) => x.severity === "error");
    return new SnippetError(
      d ? `${d.file}:${d.line}: ${d.message}` : "the statement does not check",
    );
  }
  return { scenario: r.scenario, line };
}

/** A timeline statement (`pause vm1`, `fault ...`) as the action it applies. */
export function timelineAction(
  ctx: SnippetContext,
  stmt: string,
): TimelineAction | SnippetError {
  const r = parseSnippet(ctx, stmt, (s) => `timeline { at 0s ${s} }`);
  if (r instanceof SnippetError) return r;
  const evs = r.scenario.timeline.filter((e) => e.loc.file === ctx.file && e.loc.line >= r.line);
  if (evs.length !== 1) return new SnippetError(`'${stmt}' is not one timeline statement`);
  return evs[0].action;
}
