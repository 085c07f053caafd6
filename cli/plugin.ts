/**
 * `gvtsim plugin test|new|build`: the backend author's tools.
 *
 * - {@link pluginTest} runs the conformance kit (kit.ts: the op-by-op rules and the scenario
 *   stage, the same code a plugin's own `deno test` runs) and prints its table or its JSON.
 * - {@link pluginNew} scaffolds a plugin project: the backend (a copy of plugins/template.ts
 *   importing the SDK by package name), its conformance test and a deno.json that links this
 *   gvtsim checkout, so `@gvtsim/gvtsim/mpt` resolves offline.
 * - {@link pluginBuild} bundles a backend and its dependencies into one ESM file with
 *   esbuild, then loads the result through the plugin loader to prove it is usable.
 *   esbuild is imported only when bundling, so `test` and `new` need no env or run
 *   permission (esbuild reads `ESBUILD_BINARY_PATH` etc. and spawns its binary).
 * @module
 */

import {
  type ConformanceOptions,
  type ConformanceReport,
  formatConformance,
  runConformance,
} from "../core/mpt/conformance.ts";
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
  extraChecks?: ConformanceOptions["extraChecks"] | null;
  /** Print the report as JSON (schema `gvtsim.conformance/1`) instead of the table. */
  json?: boolean;
}

import { runPluginKit } from "./conformance_runs.ts";
import { BOOL_WORDS } from "../dsl/functions.ts";
import { isReservedName, reservedNameMessage } from "../dsl/names.ts";

const enc = new TextEncoder();
const stdout = (s: string) => void Deno.stdout.writeSync(enc.encode(s));
const stderr = (s: string) => void Deno.stderr.writeSync(enc.encode(s));

/** gvtsim's repository root (templates and core are found from here). */
const GVTSIM_ROOT = new URL("../", import.meta.url);

/**
 * Backend parameters from `--param NAME=VALUE` flags: a number, on/off (true/false, yes/no)
 * as a boolean, anything else as a string; a usage message for a malformed one.
 */
export function parseParams(
  flags: readonly string[],
): Record<string, number | string | boolean> | string {
  const out: Record<string, number | string | boolean> = {};
  for (const f of flags) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(f);
    if (m === null) return `--param ${f}: expected NAME=VALUE`;
    if (isReservedName(m[1])) return reservedNameMessage(m[1], `--param ${m[1]}`);
    const v = m[2];
    out[m[1]] = /^-?\d+(\.\d+)?$/.test(v)
      ? Number(v)
      : Object.hasOwn(BOOL_WORDS, v)
      ? BOOL_WORDS[v]
      : v;
  }
  return out;
}

/** Names `plugin new` accepts: a lower-case identifier usable as a file name. */
export const PLUGIN_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * `gvtsim plugin test <plugin>`: runs the conformance kit on a built-in name, path or file
 * URL and prints the table. Returns 0 if every check passed, 1 on any failure, 2 if the
 * plugin cannot be loaded.
 */
export async function pluginTest(spec: string, opts: PluginTestOptions = {}): Promise<number> {
  const out = opts.out ?? stdout, err = opts.err ?? stderr;
  // the whole kit (op-by-op rules + scenario stage), exactly what a plugin's own test runs
  const report: ConformanceReport = opts.extraChecks === undefined
    ? await runPluginKit(spec, { params: opts.params })
    : await runConformance(spec, {
      params: opts.params,
      extraChecks: opts.extraChecks ?? undefined,
    });
  if (opts.json) out(JSON.stringify(report, null, 2) + "\n");
  else if (!report.loaded) err(formatConformance(report) + "\n");
  else out(formatConformance(report) + "\n");
  return !report.loaded ? 2 : report.failed > 0 ? 1 : 0;
}

/**
 * `gvtsim plugin new <name> --dir DIR`: scaffolds a plugin project in DIR: `<name>.ts` (a copy
 * of plugins/template.ts, the smallest conformant backend, importing the SDK by package name
 * `@gvtsim/gvtsim/mpt`), `<name>_test.ts` (runs the whole conformance kit, the same as
 * `gvtsim plugin test`) and, unless DIR has one, a `deno.json` that maps the package to this
 * gvtsim checkout with `links` (works offline). Never overwrites: 2 if a file exists or the
 * name is invalid, 0 on success.
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
  const configPath = `${dirPath}/deno.json`;
  for (const p of [backendPath, testPath]) {
    if (await exists(p)) {
      err(`plugin new: ${p} already exists (not overwritten)\n`);
      return 2;
    }
  }
  const root = decodeURIComponent(GVTSIM_ROOT.pathname).replace(/\/$/, "");
  const writeConfig = !(await exists(configPath)) && !(await exists(`${dirPath}/deno.jsonc`));
  try {
    const pkg = JSON.parse(await Deno.readTextFile(new URL("deno.json", GVTSIM_ROOT)));
    const template = await Deno.readTextFile(new URL("plugins/template.ts", GVTSIM_ROOT));
    const test = (await Deno.readTextFile(new URL("templates/backend_test.tmpl.ts", GVTSIM_ROOT)))
      .replace(/^\/\/ gvtsim:.*\n/, "");
    const config = await Deno.readTextFile(new URL("templates/deno.json.tmpl", GVTSIM_ROOT));
    const backend = template
      .replace(/^ \* template: /m, ` * ${name}: `)
      .replaceAll(`"../mpt.ts"`, `"${pkg.name}/mpt"`)
      .replace(`name: "template",`, `name: "${name}",`)
      .replace(
        /^\/\*\* The template backend factory\. \*\/$/m,
        `/** The ${name} backend factory. */`,
      );
    const fill = (t: string) =>
      t.replaceAll("__NAME__", name).replaceAll("__PACKAGE__", pkg.name)
        .replaceAll("__VERSION__", pkg.version).replaceAll(
          "__GVTSIM__",
          relativePath(dirPath, root),
        );
    await Deno.mkdir(dirPath, { recursive: true });
    await Deno.writeTextFile(backendPath, backend, { createNew: true });
    await Deno.writeTextFile(testPath, fill(test), { createNew: true });
    if (writeConfig) await Deno.writeTextFile(configPath, fill(config), { createNew: true });
  } catch (e) {
    err(`plugin new: ${errorMessage(e)}\n`);
    return 2;
  }
  out(
    `created ${backendPath}\ncreated ${testPath}\n` +
      (writeConfig
        ? `created ${configPath} (links ${root})\n`
        : `kept ${configPath}: map @gvtsim/gvtsim to ${root} there (see docs/plugins.md)\n`) +
      `next: cd ${dirPath} && deno test -A ${name}_test.ts\n` +
      `      gvtsim plugin test ${backendPath}\n`,
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
  // Bundling is the one command that starts a subprocess (esbuild's binary, which also reads
  // its settings from the environment): the plain `gvtsim` task grants neither, the
  // `plugin-build` task does. Say so before esbuild fails with a permission error.
  const missing = BUILD_PERMISSIONS.filter((p) => Deno.permissions.querySync(p).state !== "granted")
    .map((p) => `--allow-${p.name}`);
  if (missing.length > 0) {
    err(
      `plugin build: bundling starts esbuild, which needs ${missing.join(" and ")}; ` +
        `\`deno task gvtsim\` and the installed \`gvtsim\` command do not grant ${
          missing.length > 1 ? "them" : "it"
        }.\n` +
        `  run: deno task plugin-build ${entry} -o ${outFile}\n`,
    );
    return 2;
  }
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    err(`plugin build: cannot start esbuild: ${errorMessage(e)}\n`);
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
      plugins: [
        gvtsimPackage(JSON.parse(await Deno.readTextFile(new URL("deno.json", GVTSIM_ROOT)))),
      ],
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

/** What bundling needs beyond read/write: esbuild reads its env and spawns its binary. */
const BUILD_PERMISSIONS: readonly Deno.PermissionDescriptor[] = [{ name: "run" }, {
  name: "env",
}];

/** The parts of gvtsim's deno.json the bundler needs. */
interface PackageJson {
  name: string;
  exports: Record<string, string>;
}

/**
 * An esbuild plugin resolving gvtsim's package name and its exports (`@gvtsim/gvtsim/mpt`)
 * to this checkout's files, as the loader does through deno.json: the bundler and the loader
 * accept the same imports.
 */
function gvtsimPackage(pkg: PackageJson) {
  const root = decodeURIComponent(GVTSIM_ROOT.pathname);
  const esc = pkg.name.replace(/[/@]/g, (c) => `\\${c}`);
  return {
    name: "gvtsim-package",
    setup(build: {
      onResolve(
        o: { filter: RegExp },
        f: (a: { path: string }) => { path: string } | { errors: { text: string }[] },
      ): void;
    }) {
      build.onResolve({ filter: new RegExp(`^${esc}(/|$)`) }, (a) => {
        const sub = "." + a.path.slice(pkg.name.length);
        const target = pkg.exports[sub === "." ? "." : sub];
        if (target === undefined) {
          return {
            errors: [{
              text: `${pkg.name} has no export '${sub}' (it has ${
                Object.keys(pkg.exports).join(", ")
              })`,
            }],
          };
        }
        return { path: root + target.replace(/^\.\//, "") };
      });
    },
  };
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
