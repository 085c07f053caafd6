/**
 * `gvtsim plugin test|new|build`: the backend author's tools.
 *
 * - {@link pluginTest} runs the conformance kit (core/mpt/conformance.ts) on a backend and
 *   prints its pass/fail table.
 * - {@link pluginNew} scaffolds a backend and its own conformance test from `templates/`.
 * - {@link pluginBuild} bundles a backend and its dependencies into one ESM file with
 *   esbuild, then loads the result through the plugin loader to prove it is usable.
 *   esbuild is imported only when bundling, so `test` and `new` need no env or run
 *   permission (esbuild reads `ESBUILD_BINARY_PATH` etc. and spawns its binary).
 * @module
 */

import { type CheckResult, formatConformance, runConformance } from "../core/mpt/conformance.ts";
import { errorMessage, isLoadError, loadBackend } from "../core/mpt/loader.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import { Sim } from "../core/sim/sim.ts";
import { planOutputs, writeAtomic } from "./output.ts";

/** Where a plugin command writes (defaults: stdout and stderr). */
export interface PluginCliOptions {
  /** Normal output (default stdout). */
  out?: (text: string) => void;
  /** Errors (default stderr). */
  err?: (text: string) => void;
}

/** Options of {@link pluginTest}. */
export interface PluginTestOptions extends PluginCliOptions {
  /** Backend parameters (as a scenario would set them). */
  params?: Readonly<Record<string, number | string | boolean>>;
  /** Second-stage checks, passed to the conformance kit (default: the short scenario runs of
   * cli/conformance_runs.ts; `null` for none). */
  extraChecks?: ((spec: string | URL) => Promise<CheckResult[]>) | null;
}

import { scenarioChecks } from "./conformance_runs.ts";

const enc = new TextEncoder();
const stdout = (s: string) => void Deno.stdout.writeSync(enc.encode(s));
const stderr = (s: string) => void Deno.stderr.writeSync(enc.encode(s));

/** gvtsim's repository root (templates and core are found from here). */
const GVTSIM_ROOT = new URL("../", import.meta.url);

/** Names `plugin new` accepts: a lower-case identifier usable as a file name. */
export const PLUGIN_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * `gvtsim plugin test <plugin>`: runs the conformance kit on a built-in name, path or file
 * URL and prints the table. Returns 0 if every check passed, 1 on any failure, 2 if the
 * plugin cannot be loaded.
 */
export async function pluginTest(spec: string, opts: PluginTestOptions = {}): Promise<number> {
  const out = opts.out ?? stdout, err = opts.err ?? stderr;
  const report = await runConformance(spec, {
    params: opts.params,
    // second stage: short runs of the whole system on the backend (skip with `null`)
    extraChecks: opts.extraChecks === null ? undefined : opts.extraChecks ?? scenarioChecks,
  });
  if (!report.loaded) {
    err(formatConformance(report) + "\n");
    return 2;
  }
  out(formatConformance(report) + "\n");
  return report.failed > 0 ? 1 : 0;
}

/**
 * `gvtsim plugin new <name> [dir]`: writes `<dir>/<name>.ts` (a documented minimal correct
 * backend) and `<dir>/<name>_test.ts` (a test that runs the conformance kit on it). Their
 * imports of gvtsim's modules use the path from `dir` to gvtsim's root, computed now. Never
 * overwrites: returns 1 if a file exists or the name is invalid, 0 on success.
 */
export async function pluginNew(
  name: string,
  dir: string,
  opts: PluginCliOptions = {},
): Promise<number> {
  const out = opts.out ?? stdout, err = opts.err ?? stderr;
  if (!PLUGIN_NAME.test(name)) {
    err(`plugin new: invalid name '${name}' (expected [a-z][a-z0-9_]*)\n`);
    return 2;
  }
  const dirPath = absolute(dir);
  const backendPath = `${dirPath}/${name}.ts`;
  const testPath = `${dirPath}/${name}_test.ts`;
  for (const p of [backendPath, testPath]) {
    if (await exists(p)) {
      err(`plugin new: ${p} already exists (not overwritten)\n`);
      return 2;
    }
  }
  const rel = relativePath(dirPath, decodeURIComponent(GVTSIM_ROOT.pathname).replace(/\/$/, ""));
  try {
    const fill = (t: string) => t.replaceAll("__GVTSIM__", rel).replaceAll("__NAME__", name);
    const backend = await Deno.readTextFile(new URL("templates/backend.ts.tmpl", GVTSIM_ROOT));
    const test = await Deno.readTextFile(new URL("templates/backend_test.ts.tmpl", GVTSIM_ROOT));
    await Deno.mkdir(dirPath, { recursive: true });
    await Deno.writeTextFile(backendPath, fill(backend), { createNew: true });
    await Deno.writeTextFile(testPath, fill(test), { createNew: true });
  } catch (e) {
    err(`plugin new: ${errorMessage(e)}\n`);
    return 2;
  }
  out(
    `created ${backendPath}\ncreated ${testPath}\n` +
      `next: gvtsim plugin test ${backendPath}  (or: deno test --allow-read ${testPath})\n`,
  );
  return 0;
}

/**
 * `gvtsim plugin build <entry.ts> -o <out.js>`: bundles a backend and everything it imports
 * into one ESM file (esbuild: bundle, format esm, platform neutral), then loads the bundle
 * through the plugin loader to check it. Returns 0 on success, 1 if bundling or loading
 * failed.
 */
export async function pluginBuild(
  entry: string,
  outFile: string,
  opts: PluginCliOptions = {},
): Promise<number> {
  const out = opts.out ?? stdout, err = opts.err ?? stderr;
  const outPath = absolute(outFile);
  const bad = planOutputs([{ flag: "-o", path: outPath }], [absolute(entry)]);
  if (bad) {
    err(`plugin build: ${bad.message}\n`);
    return 2;
  }
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    // Bundling is the one command that runs a subprocess: the plain `gvtsim` task does not
    // grant that, `deno task plugin-build` does.
    err(
      `plugin build: cannot start esbuild: ${errorMessage(e)}\n` +
        `  (bundling needs --allow-run and --allow-env: use \`deno task plugin-build ENTRY -o OUT\`)\n`,
    );
    return 2;
  }
  try {
    const r = await esbuild.build({
      entryPoints: [absolute(entry)],
      outfile: outPath,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      write: false,
      logLevel: "silent",
      legalComments: "none",
    });
    for (const w of r.warnings) err(`plugin build: warning: ${w.text}\n`);
    const bundle = r.outputFiles?.find((f) => f.path === outPath) ?? r.outputFiles?.[0];
    if (bundle === undefined) throw new Error("esbuild produced no output");
    writeAtomic(outPath, bundle.contents);
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number } }[] })
      .errors;
    if (errors !== undefined && errors.length > 0) {
      for (const x of errors) {
        const at = x.location ? `${x.location.file}:${x.location.line}: ` : "";
        err(`plugin build: ${at}${x.text}\n`);
      }
    } else err(`plugin build: ${errorMessage(e)}\n`);
    return 2;
  } finally {
    await esbuild.stop();
  }
  const loaded = await loadBackend(new URL(`file://${encodePath(outPath)}`), probeContext());
  if (isLoadError(loaded)) {
    err(`plugin build: the bundle does not load:\n${loaded.message}\n`);
    return 2;
  }
  const size = (await Deno.stat(outPath)).size;
  out(`built ${outPath} (${size} bytes): backend '${loaded.backend.name}' loads\n`);
  return 0;
}

/** A throwaway backend context, enough for a factory to run. */
function probeContext(): SimBackendContext {
  return new SimBackendContext(new Sim(1));
}

function absolute(p: string): string {
  if (p.startsWith("/")) return normalize(p);
  return normalize(`${Deno.cwd()}/${p}`);
}

function normalize(p: string): string {
  const parts: string[] = [];
  for (const s of p.split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") parts.pop();
    else parts.push(s);
  }
  return "/" + parts.join("/");
}

/** Relative module path from directory `from` to `to` (both absolute), starting with ./ or ../ */
export function relativePath(from: string, to: string): string {
  const a = normalize(from).split("/").filter((s) => s !== "");
  const b = normalize(to).split("/").filter((s) => s !== "");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const up = a.slice(i).map(() => "..");
  const rel = [...up, ...b.slice(i)].join("/");
  if (rel === "") return ".";
  return up.length > 0 ? rel : `./${rel}`;
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
