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
}

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

/** The message of an exception without its stack trace. */
export function errorMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  return raw.split("\n").filter((l) => !/^\s+at /.test(l)).join("\n").trim();
}

/**
 * Imports a plugin, runs its factory with `ctx` and validates the backend's shape.
 * Never throws: every failure is a {@link LoadError}.
 */
export async function loadBackend(
  spec: string | URL,
  ctx: BackendContext,
  base?: string | URL,
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
  return { backend: b, label: `${file} (${b.name})`, url: url.href };
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
      `is written for MPT contract ${describe(b.contract)}, but this gvtsim implements ` +
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
