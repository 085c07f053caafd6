/**
 * `gvtsim check <files...>`: parse and check scenarios without simulating them.
 * @module
 */

import { formatDiagnostics, loadScenario, type ParamInfo, resolveInclude } from "../dsl/mod.ts";
import { resolvePlugin } from "../core/mpt/loader.ts";

/** Options of {@link checkFiles}. */
export interface CheckFilesOptions {
  /** Colour the output (default: stderr is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** Don't print the one-line summary of each clean file. */
  quiet?: boolean;
  /** Reads a file (default `Deno.readTextFileSync`). */
  readFile?: (path: string) => string;
  /** Where diagnostics go (default stderr). */
  err?: (text: string) => void;
  /** Where summaries go (default stdout). */
  out?: (text: string) => void;
  /** Scenario parameter values, `NAME=VALUE` each (`-D`), applied to every file. */
  defines?: readonly string[];
  /** Print one JSON object ({@link CheckReport}) to stdout instead of text. */
  json?: boolean;
}

/** One diagnostic in `check --json`. */
export interface CheckDiagnostic {
  /** File as given. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** Length of the offending text. */
  length: number;
  /** "error" or "warning". */
  severity: "error" | "warning";
  /** What is wrong. */
  message: string;
  /** A hint or the numbers behind the decision, when there is one. */
  hint?: string;
}

/** What `check --json` prints. */
export interface CheckReport {
  /** `gvtsim.check/1`. */
  schema: string;
  /** No file has an error. */
  ok: boolean;
  /** Per file: whether it checked without errors. */
  files: { file: string; ok: boolean }[];
  /** Every diagnostic of every file, in file order. */
  diagnostics: CheckDiagnostic[];
}

/** One line per parameter: `  param slice = 2ms  (time, from -D; default 1ms)`. */
export function paramLines(params: readonly ParamInfo[]): string {
  const w = Math.max(0, ...params.map((p) => p.name.length + p.value.length));
  return params.map((p) => {
    const pad = " ".repeat(w - p.name.length - p.value.length);
    const kind = p.kind === "none" ? "number" : p.kind;
    const from = p.overridden ? `from -D; default ${p.defaultText}` : "default";
    return `  param ${p.name} = ${p.value}${pad}  (${kind}, ${from})\n`;
  }).join("");
}

function defaultColor(): boolean {
  try {
    return Deno.env.get("NO_COLOR") === undefined && Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/**
 * Checks each file and prints its diagnostics (all of them) to stderr, and a summary line
 * per clean file to stdout. Returns the exit code: 0 if every file is free of errors
 * (warnings allowed), 2 otherwise.
 */
export function checkFiles(paths: string[], opts: CheckFilesOptions = {}): Promise<number> {
  const color = opts.color ?? defaultColor();
  const enc = new TextEncoder();
  const err = opts.err ?? ((s: string) => void Deno.stderr.writeSync(enc.encode(s)));
  const out = opts.out ?? ((s: string) => void Deno.stdout.writeSync(enc.encode(s)));
  let failed = paths.length === 0;
  if (paths.length === 0) err("check: no scenario files given\n");
  const report: CheckReport = { schema: "gvtsim.check/1", ok: true, files: [], diagnostics: [] };
  for (const p of paths) {
    const r = loadScenario(p, { readFile: opts.readFile, defines: opts.defines });
    if (opts.json) {
      report.files.push({ file: p, ok: r.scenario !== undefined });
      for (const d of r.diagnostics) {
        report.diagnostics.push({
          file: d.file,
          line: d.line,
          column: d.col,
          length: d.len,
          severity: d.severity,
          message: d.message,
          ...(d.note ? { hint: d.note } : {}),
        });
      }
      if (!r.scenario) failed = true;
      continue;
    }
    if (r.diagnostics.length > 0) err(formatDiagnostics(r.diagnostics, r.sources, { color }));
    if (!r.scenario) {
      failed = true;
      const n = r.diagnostics.filter((d) => d.severity === "error").length;
      err(`${p}: ${n} error${n === 1 ? "" : "s"}\n`);
    } else if (!opts.quiet) {
      const s = r.scenario;
      out(
        `${p}: ok (${s.vms.length} vm${s.vms.length === 1 ? "" : "s"}, ${
          Object.keys(s.workloads).length
        } workload(s), ${s.timeline.length} timeline event(s), ${s.expects.length} expectation(s)${
          r.params.length ? `, ${r.params.length} parameter(s)` : ""
        })\n` + `  ${pluginLine(s.hypervisor.name, s.hypervisor.loc?.file ?? p)}\n` +
          paramLines(r.params),
      );
    }
  }
  if (opts.json) {
    report.ok = !failed;
    out(JSON.stringify(report, null, 2) + "\n");
  }
  return Promise.resolve(failed ? 2 : 0);
}

/**
 * Which code the scenario's hypervisor line would run: a built-in backend, or a plugin file
 * (resolved against the scenario that names it) — code a user should know about before `run`.
 */
function pluginLine(name: string, from: string): string {
  if (/^[a-z][a-z0-9_-]*$/.test(name)) {
    return `hypervisor ${name}: built-in backend plugins/${name}.ts`;
  }
  const file = name.startsWith("file:") ? resolvePlugin(name).file : resolveInclude(from, name);
  return `hypervisor "${name}": loads plugin code from ${file}`;
}
