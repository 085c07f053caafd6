/**
 * `gvtsim fmt [--check] FILE... | -`: formats scenarios in place (atomically: a temporary file
 * beside it, then a rename), or stdin to stdout; `--check` only lists the files that would
 * change. Exit codes: 0 formatted (or already so), 1 `--check` found unformatted files, 2 a file
 * could not be read or has syntax errors (nothing is written then).
 * @module
 */

import { formatDiagnostics, MAX_FILE_BYTES, readScenarioFile } from "../dsl/mod.ts";
import { formatScenario } from "../dsl/format.ts";
import { writeAtomic } from "./output.ts";

/** Options of {@link fmtFiles}. */
export interface FmtOptions {
  /** Only report files that are not formatted (exit 1 if any). */
  check?: boolean;
  /** Where messages go (default stderr). */
  err?: (text: string) => void;
  /** Where `-` output and the list of changed files go (default stdout). */
  out?: (text: string) => void;
  /** Reads stdin for `-` (default: all of Deno.stdin). */
  readStdin?: () => Promise<string>;
}

/** All of stdin, at most a scenario file's size. */
async function readAllStdin(): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  for await (const chunk of Deno.stdin.readable) {
    text += dec.decode(chunk, { stream: true });
    if (text.length > MAX_FILE_BYTES) {
      throw new Error(
        `larger than ${MAX_FILE_BYTES / 1024} KiB, the limit of a scenario file`,
      );
    }
  }
  return text + dec.decode();
}

/** Formats each file (or `-`); returns the exit code. */
export async function fmtFiles(paths: string[], opts: FmtOptions = {}): Promise<number> {
  const enc = new TextEncoder();
  const err = opts.err ?? ((s: string) => void Deno.stderr.writeSync(enc.encode(s)));
  const out = opts.out ?? ((s: string) => void Deno.stdout.writeSync(enc.encode(s)));
  let code = 0;
  for (const path of paths) {
    let text: string;
    try {
      text = path === "-" ? await (opts.readStdin ?? readAllStdin)() : readScenarioFile(path);
    } catch (e) {
      err(`gvtsim fmt: cannot read '${path}': ${e instanceof Error ? e.message : String(e)}\n`);
      code = 2;
      continue;
    }
    const name = path === "-" ? "(stdin)" : path;
    const r = formatScenario(text, name);
    if (r.text === undefined) {
      err(formatDiagnostics(r.diagnostics, new Map([[name, text]])));
      err(`${name}: not formatted: fix the syntax errors first\n`);
      code = 2;
      continue;
    }
    if (opts.check) {
      if (r.text !== text) {
        out(`${name}: not formatted\n`);
        code = Math.max(code, 1);
      }
      continue;
    }
    if (path === "-") out(r.text);
    else if (r.text !== text) {
      writeAtomic(path, r.text);
      out(`formatted ${path}\n`);
    }
  }
  return code;
}
