/**
 * Output files that never lose data. Every path a command will write is checked before any
 * work starts ({@link planOutputs}: writable, a regular file or new, distinct from the other
 * outputs and from every input, `-` only where stdout makes sense), and every file is written
 * to a temporary file in the same directory and renamed into place ({@link writeAtomic}), so
 * an interrupted or failed write leaves the previous file as it was.
 * @module
 */

/** One output a command may write. */
export interface OutputRequest {
  /** The option that names it, for messages (`--json`). */
  flag: string;
  /** The path as the user gave it. */
  path: string;
  /** True when `-` means stdout for this output; elsewhere `-` is refused. */
  stdoutOk?: boolean;
}

/** Why the outputs cannot be written: one line. */
export class OutputError {
  /**
   * Creates it.
   * @param message what is wrong, naming the option and the path
   */
  constructor(readonly message: string) {}
}

/** Where a path's file lives, independent of how it was spelled. */
interface FileId {
  /** Canonical path (real directory + name). */
  canonical: string;
  /** Device and inode when the file exists (hard links). */
  inode?: string;
}

function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

function message(e: unknown): string {
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    return "permission denied";
  }
  return e instanceof Error ? e.message : String(e);
}

/** The identity of a path (which need not exist), or why its directory cannot be used. */
function fileId(path: string): FileId | string {
  let dir: string;
  try {
    dir = Deno.realPathSync(dirOf(path));
  } catch (e) {
    return e instanceof Deno.errors.NotFound
      ? `directory '${dirOf(path)}' does not exist`
      : `directory '${dirOf(path)}': ${message(e)}`;
  }
  const id: FileId = { canonical: `${dir === "/" ? "" : dir}/${baseOf(path)}` };
  try {
    const st = Deno.statSync(path);
    if (st.dev !== null && st.ino !== null) id.inode = `${st.dev}:${st.ino}`;
    id.canonical = Deno.realPathSync(path);
  } catch {
    // a new file: its directory and name identify it
  }
  return id;
}

function same(a: FileId, b: FileId): boolean {
  return a.canonical === b.canonical || (a.inode !== undefined && a.inode === b.inode);
}

/**
 * Checks that every output can be written without harming anything, before any work is done:
 * `-` only where {@link OutputRequest.stdoutOk}; the directory exists and is writable (probed
 * by creating and removing a temporary file); an existing target is a regular file; no two
 * outputs are the same file, and no output is one of `inputs` (scenario and included files,
 * checkpoints, plugins; compared by real path and inode, so other spellings and hard links
 * count). Returns the first problem.
 */
export function planOutputs(
  outputs: readonly OutputRequest[],
  inputs: readonly string[],
): OutputError | undefined {
  const ins: { path: string; id: FileId }[] = [];
  for (const p of inputs) {
    const id = fileId(p);
    if (typeof id !== "string") ins.push({ path: p, id });
  }
  const seen: { o: OutputRequest; id: FileId }[] = [];
  for (const o of outputs) {
    if (o.path === "-") {
      if (o.stdoutOk) continue;
      return new OutputError(`${o.flag} -: this output cannot go to stdout; name a file`);
    }
    if (o.path === "") return new OutputError(`${o.flag}: empty path`);
    const id = fileId(o.path);
    if (typeof id === "string") return new OutputError(`${o.flag} ${o.path}: ${id}`);
    try {
      const st = Deno.statSync(o.path);
      if (!st.isFile) {
        return new OutputError(`${o.flag} ${o.path}: exists and is not a regular file`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        return new OutputError(`${o.flag} ${o.path}: ${message(e)}`);
      }
    }
    const input = ins.find((i) => same(i.id, id));
    if (input) {
      return new OutputError(
        `${o.flag} ${o.path}: is an input of this run (${input.path}); it would be overwritten`,
      );
    }
    const twin = seen.find((s) => same(s.id, id));
    if (twin) {
      return new OutputError(`${o.flag} ${o.path}: the same file as ${twin.o.flag} ${twin.o.path}`);
    }
    try {
      Deno.removeSync(tempFile(o.path));
    } catch (e) {
      return new OutputError(`${o.flag} ${o.path}: cannot write there: ${message(e)}`);
    }
    seen.push({ o, id });
  }
  return undefined;
}

/** Creates an empty temporary file next to `path` (same directory, so a rename is atomic). */
function tempFile(path: string): string {
  return Deno.makeTempFileSync({ dir: dirOf(path), prefix: `.${baseOf(path)}.`, suffix: ".tmp" });
}

/** The mode a replacement of `path` gets: the old file's, else rw-r--r-- (temp files are private). */
function modeOf(path: string): number {
  try {
    return (Deno.statSync(path).mode ?? 0o644) & 0o7777;
  } catch {
    return 0o644;
  }
}

/** A file written to its temporary name, not yet renamed into place. */
export interface StagedFile {
  /** Where it goes. */
  path: string;
  /** Where it is now. */
  tmp: string;
}

/** Temporary files staged and not yet committed (removed if the process is interrupted). */
const pending = new Set<string>();

/** Removes the temporary files of staged outputs (on failure). */
export function discardStaged(files: readonly StagedFile[]): void {
  for (const f of files) {
    pending.delete(f.tmp);
    try {
      Deno.removeSync(f.tmp);
    } catch {
      // already gone
    }
  }
}

/** Removes every staged, uncommitted temporary file (on interrupt). */
export function discardAllStaged(): void {
  discardStaged([...pending].map((tmp) => ({ path: "", tmp })));
}

/**
 * Writes `data` to a new temporary file next to `path` (same directory, so the rename is
 * atomic) and flushes it; {@link commitStaged} renames it into place. Until then the file at
 * `path` is untouched.
 */
export function stageFile(path: string, data: string | Uint8Array): StagedFile {
  const tmp = tempFile(path);
  pending.add(tmp);
  try {
    Deno.chmodSync(tmp, modeOf(path));
    const f = Deno.openSync(tmp, { write: true, truncate: true });
    try {
      const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
      for (let off = 0; off < bytes.length;) off += f.writeSync(bytes.subarray(off));
      f.syncSync();
    } finally {
      f.close();
    }
  } catch (e) {
    discardStaged([{ path, tmp }]);
    throw e;
  }
  return { path, tmp };
}

/** A staged file written piece by piece (a trace streamed while the run goes). */
export interface StagedStream {
  /** Where it goes and where it is now. */
  readonly staged: StagedFile;
  /** Appends text or bytes. */
  write(data: string | Uint8Array): void;
  /** Flushes and closes it; {@link commitStaged} then renames it into place. */
  close(): StagedFile;
}

/**
 * Opens a new temporary file next to `path` to be written in pieces ({@link StagedStream}),
 * so output that does not fit in memory is still replaced atomically: until
 * {@link commitStaged} renames it, the file at `path` is untouched, and an interrupt removes
 * it ({@link discardAllStaged}).
 */
export function stageStream(path: string): StagedStream {
  const tmp = tempFile(path);
  pending.add(tmp);
  let f: Deno.FsFile;
  try {
    Deno.chmodSync(tmp, modeOf(path));
    f = Deno.openSync(tmp, { write: true, truncate: true });
  } catch (e) {
    discardStaged([{ path, tmp }]);
    throw e;
  }
  const staged = { path, tmp };
  const enc = new TextEncoder();
  let open = true;
  return {
    staged,
    write(data) {
      const bytes = typeof data === "string" ? enc.encode(data) : data;
      for (let off = 0; off < bytes.length;) off += f.writeSync(bytes.subarray(off));
    },
    close() {
      if (open) {
        open = false;
        try {
          f.syncSync();
        } finally {
          f.close();
        }
      }
      return staged;
    },
  };
}

/** Renames staged files into place (each rename is atomic: readers see old or new, never a part). */
export function commitStaged(files: readonly StagedFile[]): void {
  for (const f of files) {
    Deno.renameSync(f.tmp, f.path);
    pending.delete(f.tmp);
  }
}

/** Writes one file atomically ({@link stageFile} then {@link commitStaged}). */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  const f = stageFile(path, data);
  try {
    commitStaged([f]);
  } catch (e) {
    discardStaged([f]);
    throw e;
  }
}
