/**
 * Loads a hypervisor backend plugin at run time. A plugin is an ES module whose default
 * export is a {@link BackendFactory}. Built-in backends are ordinary plugin files under
 * `plugins/`: a bare name (`[a-z][a-z0-9_-]*`) only resolves to `plugins/<name>.ts`, then
 * goes through exactly the same import and validation as a user's plugin path or file URL.
 *
 * Validation reports every problem precisely, naming the file: a missing default export, a
 * factory that throws, a missing required op, an op that is not a function, a bad name or
 * cost model.
 */

import { closest } from "../suggest.ts";
import type { BackendContext, MptBackend } from "./types.ts";
import { MPT_CONTRACT_OLDEST, MPT_CONTRACT_VERSION, OPTIONAL_OPS, REQUIRED_OPS } from "./types.ts";

/** A successfully loaded backend. */
export interface LoadedBackend {
  /** The backend object the factory returned. */
  backend: MptBackend;
  /** Label for reports and errors: file and backend name, e.g. `plugins/x.ts (x)`. */
  label: string;
  /** The module URL that was imported. */
  url: string;
  /** Which code ran: a built-in backend's name, or a plugin file's content hash. */
  source: PluginSource;
}

/**
 * The identity of a backend's code, as a checkpoint records it: a built-in name, or the
 * SHA-256 of the plugin file's bytes (the entry module only: what it imports is not
 * covered, so bundle a plugin into one file, `gvtsim plugin build`, to pin all of it).
 */
export type PluginSource = { builtin: string } | { sha256: string; file: string };

/** Extensions a plugin file may have (anything else is not imported: Deno would run it as JS). */
export const PLUGIN_EXTENSIONS: readonly string[] = [".ts", ".js", ".mjs"];

/** Why a path cannot be a plugin file (wrong extension), or undefined. */
export function pluginPathProblem(path: string): string | undefined {
  return PLUGIN_EXTENSIONS.some((x) => path.endsWith(x))
    ? undefined
    : "a plugin must be a .ts, .js or .mjs file (built-in backends are named without quotes)";
}

/**
 * Hex SHA-256 of bytes. node:crypto is imported on first use: a run with a built-in backend
 * never hashes a plugin, and importing it costs a fresh process ~40 ms of CPU.
 */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(bytes).digest("hex");
}

/** Content hash at first import, by module URL: an import of a changed file would be stale. */
const importedHash = new Map<string, string>();

/** Why a plugin could not be loaded. */
export class LoadError {
  /** Always "LoadError" (tag for plain-data consumers). */
  readonly kind = "LoadError";
  /**
   * Creates it.
   * @param file the plugin file as the user named it (or `plugins/<name>.ts`)
   * @param problems each problem found, one line each
   */
  constructor(readonly file: string, readonly problems: string[]) {}

  /** All problems, one per line, each prefixed with the file. */
  get message(): string {
    return this.problems.map((p) => `${this.file}: ${p}`).join("\n");
  }
}

/** Type guard for the result of {@link loadBackend}. */
export function isLoadError<T>(r: T | LoadError): r is LoadError {
  return r instanceof LoadError;
}

const BUILTIN_NAME = /^[a-z][a-z0-9_-]*$/;

/** Where built-in backends live. */
export const PLUGIN_DIR: URL = new URL("../../plugins/", import.meta.url);

/**
 * Resolves a plugin spec to a module URL and the file name to report: a bare name maps to
 * `plugins/<name>.ts`; `file:` URLs are used as is; anything else is a path relative to the
 * current directory (or `base` when given).
 */
export function resolvePlugin(spec: string | URL, base?: string | URL): { url: URL; file: string } {
  if (spec instanceof URL) return { url: spec, file: fileName(spec) };
  if (BUILTIN_NAME.test(spec)) {
    return { url: new URL(`${spec}.ts`, PLUGIN_DIR), file: `plugins/${spec}.ts` };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) {
    const u = new URL(spec);
    return { url: u, file: u.protocol === "file:" ? fileName(u) : spec };
  }
  const b = base ?? cwdUrl();
  return { url: new URL(spec.split("/").map(encodeURIComponent).join("/"), b), file: spec };
}

function cwdUrl(): URL {
  let cwd = "/";
  try {
    cwd = Deno.cwd();
  } catch {
    // no read permission: resolve relative paths against the root
  }
  return new URL(`file://${cwd.split("/").map(encodeURIComponent).join("/")}/`);
}

function fileName(u: URL): string {
  return u.protocol === "file:" ? decodeURIComponent(u.pathname) : u.href;
}

function isFile(u: URL): boolean {
  try {
    return Deno.statSync(u).isFile;
  } catch {
    return false;
  }
}

/** The backends in plugins/ that a bare name selects (the template is not one). */
export function builtinBackends(): string[] {
  try {
    return [...Deno.readDirSync(PLUGIN_DIR)]
      .map((e) => e.name)
      .filter((n) => n.endsWith(".ts") && !n.endsWith("_test.ts") && n !== "template.ts")
      .map((n) => n.slice(0, -3))
      .sort();
  } catch {
    return [];
  }
}

/** The message of an exception without its stack trace. */
export function errorMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  // one line: stack lines dropped, the rest (Deno's numbered causes) joined
  return raw.split("\n").filter((l) => !/^\s+at /.test(l)).map((l) => l.trim()).filter(Boolean)
    .join(" ");
}

/** Largest plugin file read (its bytes are hashed before the import). */
export const MAX_PLUGIN_BYTES = 16 * 1024 * 1024;

/**
 * Reads and checks a plugin file before anything is imported: a regular `.ts`/`.js`/`.mjs`
 * file of at most {@link MAX_PLUGIN_BYTES}; returns its source identity (a plugin file's
 * bytes, to hash), or the problem.
 */
function inspectPlugin(
  url: URL,
  file: string,
  builtin: string | undefined,
): { builtin: string } | { bytes: Uint8Array } | string {
  const path = decodeURIComponent(url.pathname);
  if (builtin === undefined) {
    const bad = pluginPathProblem(path);
    if (bad) return bad;
  }
  try {
    const st = Deno.statSync(url);
    if (!st.isFile) return `${file} is not a regular file`;
    if (st.size > MAX_PLUGIN_BYTES) {
      return `the file is larger than ${MAX_PLUGIN_BYTES / 1024 / 1024} MiB`;
    }
    if (builtin !== undefined) return { builtin };
    return { bytes: Deno.readFileSync(url) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return builtin !== undefined ? `no built-in backend '${builtin}'` : "no such file";
    }
    return `cannot read: ${errorMessage(e)}`;
  }
}

/** Options of {@link loadBackend}. */
export interface PluginLoadOptions {
  /** Load only if the plugin file's SHA-256 is this (a checkpoint's recorded plugin). */
  sha256?: string;
}

/**
 * Imports a plugin, runs its factory with `ctx` and validates the backend's shape. A path
 * must name a regular `.ts`/`.js`/`.mjs` file; its bytes are hashed before the import (and,
 * with `opts.sha256`, must match). Never throws: every failure is a {@link LoadError}.
 */
export async function loadBackend(
  spec: string | URL,
  ctx: BackendContext,
  base?: string | URL,
  opts: PluginLoadOptions = {},
): Promise<LoadedBackend | LoadError> {
  let url: URL, file: string;
  try {
    ({ url, file } = resolvePlugin(spec, base));
  } catch (e) {
    return new LoadError(String(spec), [`invalid plugin path or URL: ${errorMessage(e)}`]);
  }
  if (url.protocol !== "file:") {
    return new LoadError(file, [`only local plugins (paths or file: URLs) can be loaded`]);
  }
  if (typeof spec === "string" && BUILTIN_NAME.test(spec) && !isFile(url)) {
    const names = builtinBackends();
    const guess = closest(spec, names);
    return new LoadError(file, [
      `unknown hypervisor backend '${spec}'; built-in backends: ${names.join(", ")}` +
      (guess ? ` (did you mean '${guess}'?)` : "") +
      `; a plugin is named by its path, e.g. ./my_backend.ts`,
    ]);
  }
  const builtin = typeof spec === "string" && BUILTIN_NAME.test(spec) ? spec : undefined;
  const read = inspectPlugin(url, file, builtin);
  if (typeof read === "string") return new LoadError(file, [read]);
  const source: PluginSource = "builtin" in read
    ? read
    : { sha256: await sha256Hex(read.bytes), file };
  if ("sha256" in source) {
    if (opts.sha256 !== undefined && source.sha256 !== opts.sha256) {
      return new LoadError(file, [
        `content does not match the checkpoint's plugin (sha256 ${
          source.sha256.slice(0, 16)
        }..., recorded ${opts.sha256.slice(0, 16)}...)`,
      ]);
    }
    const first = importedHash.get(url.href);
    if (first !== undefined && first !== source.sha256) {
      return new LoadError(file, [
        "the file changed since this process imported it; start gvtsim again to load the new code",
      ]);
    }
    importedHash.set(url.href, source.sha256);
  } else if (opts.sha256 !== undefined) {
    return new LoadError(file, [
      "a built-in backend cannot stand for the checkpoint's plugin file",
    ]);
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href);
  } catch (e) {
    return new LoadError(file, [`cannot import: ${errorMessage(e)}`]);
  }
  const factory = mod.default;
  if (typeof factory !== "function") {
    return new LoadError(file, [
      factory === undefined
        ? "no default export (expected a factory function (ctx) => backend)"
        : `default export is ${describe(factory)}, expected a factory function (ctx) => backend`,
    ]);
  }
  let backend: unknown;
  try {
    backend = factory(ctx);
  } catch (e) {
    return new LoadError(file, [`factory threw: ${errorMessage(e)}`]);
  }
  const problems = validateBackend(backend);
  if (problems.length > 0) return new LoadError(file, problems);
  const b = backend as MptBackend;
  return { backend: b, label: `${file} (${b.name})`, url: url.href, source };
}

/** Checks a backend object against the MPT contract; returns one line per problem. */
export function validateBackend(backend: unknown): string[] {
  if (backend === null || typeof backend !== "object") {
    return [`factory returned ${describe(backend)}, expected a backend object`];
  }
  const b = backend as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof b.name !== "string" || b.name.length === 0) {
    problems.push(`'name' is ${describe(b.name)}, expected a non-empty string`);
  }
  if (b.contract === undefined) {
    problems.push(
      `declares no MPT contract version: add 'contract: MPT_CONTRACT_VERSION' (from ` +
        `@gvtsim/gvtsim/mpt) to the backend; this gvtsim implements contract ` +
        `${MPT_CONTRACT_VERSION}`,
    );
  } else if (
    !Number.isInteger(b.contract) || (b.contract as number) < MPT_CONTRACT_OLDEST ||
    (b.contract as number) > MPT_CONTRACT_VERSION
  ) {
    const newer = typeof b.contract === "number" && b.contract > MPT_CONTRACT_VERSION;
    problems.push(
      `is written for MPT contract ${
        typeof b.contract === "number" ? b.contract : describe(b.contract)
      }, but this gvtsim implements ` +
        `contract ${MPT_CONTRACT_VERSION} (and accepts ${MPT_CONTRACT_OLDEST}..` +
        `${MPT_CONTRACT_VERSION}; docs/plugins.md, "Contract versions", says what changed): ` +
        (newer ? `use a newer gvtsim` : `port it and declare 'contract: ${MPT_CONTRACT_VERSION}'`),
    );
  }
  const costs = b.costs;
  if (costs === null || typeof costs !== "object") {
    problems.push(`'costs' is ${describe(costs)}, expected an object of op name -> ns`);
  } else {
    for (const [k, v] of Object.entries(costs)) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        problems.push(`cost '${k}' is ${describe(v)}, expected a non-negative number of ns`);
      }
    }
  }
  for (const op of REQUIRED_OPS) {
    const f = b[op];
    if (f === undefined) problems.push(`missing required op '${op}'`);
    else if (typeof f !== "function") {
      problems.push(`op '${op}' is ${describe(f)}, expected a function`);
    }
  }
  for (const op of OPTIONAL_OPS) {
    const f = b[op];
    if (f !== undefined && typeof f !== "function") {
      problems.push(`optional op '${op}' is ${describe(f)}, expected a function or absent`);
    }
  }
  return problems;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  const t = typeof v;
  if (t === "undefined") return "undefined";
  if (t === "number" || t === "boolean") return `a ${t} (${String(v)})`;
  if (t === "string") return `a string (${JSON.stringify(v)})`;
  return t === "object" ? "an object" : `a ${t}`;
}
