/**
 * Traces written while the run goes, so memory does not grow with the trace: `run --trace`
 * streams into a staged file next to the target ({@link TraceFile}), renamed into place only
 * when the run finished; the REPL streams into a temporary spool ({@link TraceSpool}) and
 * keeps only the most recent records in memory, and `trace save PATH` writes the full trace
 * so far.
 * @module
 */

import type { Results } from "../core/metrics/results.ts";
import type { TraceClock, TraceLog } from "../core/metrics/trace.ts";
import { discardStaged, type StagedFile, type StagedStream, stageStream } from "./output.ts";
import { traceProcesses, TraceWriter } from "./trace.ts";

/** The most records a streamed trace file holds (about 2 GB of JSON); later ones are dropped. */
export const TRACE_FILE_RECORDS = 20_000_000;

/** `run --trace PATH`: the trace rendered into a staged file next to PATH as the run goes. */
export class TraceFile {
  private writer: TraceWriter | null = null;

  private constructor(private readonly stream: StagedStream) {}

  /** Stages the file (the target is untouched until the staged file is committed). */
  static open(path: string): TraceFile {
    return new TraceFile(stageStream(path));
  }

  /** Streams `log` into the file from now on. */
  attach(log: TraceLog, clock: TraceClock): void {
    const writer = new TraceWriter((t) => this.stream.write(t), traceProcesses(log));
    this.writer = writer;
    log.streamTo(writer, clock, { cap: TRACE_FILE_RECORDS, recent: 0 });
  }

  /** Writes the log's last records and the end of the file; returns it staged, for commit. */
  finish(log: TraceLog, results: Results): StagedFile {
    if (this.writer === null) throw new Error("the trace file was never attached to a log");
    log.flush();
    this.writer.finish(log, results);
    return this.stream.close();
  }

  /** Removes the staged file (the run failed or was interrupted). */
  discard(): void {
    try {
      this.stream.close();
    } catch {
      // closing a file that failed to write: it is removed below anyway
    }
    discardStaged([this.stream.staged]);
  }
}

/** Spools not closed yet, removed when the process ends. */
const live = new Set<TraceSpool>();
let unloadHooked = false;

/**
 * The REPL's trace: records go to a temporary file as they settle, the log keeps only the
 * most recent ones (`trace [n]`), and {@link save} writes the whole trace so far to a file.
 */
export class TraceSpool {
  private readonly writer: TraceWriter;
  private readonly file: Deno.FsFile;
  private readonly enc = new TextEncoder();
  /** Where the spool is. */
  readonly path: string;

  /** Creates the spool in the system's temporary directory and streams `log` into it. */
  constructor(private readonly log: TraceLog, clock: TraceClock) {
    this.path = Deno.makeTempFileSync({ prefix: "gvtsim-trace-", suffix: ".json" });
    this.file = Deno.openSync(this.path, { write: true, append: true });
    this.writer = new TraceWriter((t) => this.append(t), traceProcesses(log));
    log.streamTo(this.writer, clock, { cap: TRACE_FILE_RECORDS });
    live.add(this);
    if (!unloadHooked) {
      unloadHooked = true;
      globalThis.addEventListener("unload", () => {
        for (const s of [...live]) s.close();
      });
    }
  }

  private append(text: string): void {
    const bytes = this.enc.encode(text);
    for (let off = 0; off < bytes.length;) off += this.file.writeSync(bytes.subarray(off));
  }

  /**
   * Writes the trace recorded so far (everything since the world was loaded; the records
   * still open or unsettled are closed at `results.simulatedNs`) to a staged file next to
   * `path`, for the caller to commit. The spool goes on recording.
   */
  save(path: string, results: Results): StagedFile {
    this.log.settle();
    this.writer.drain();
    const out = stageStream(path);
    try {
      const src = Deno.openSync(this.path, { read: true });
      try {
        const buf = new Uint8Array(1 << 20);
        for (;;) {
          const n = src.readSync(buf);
          if (n === null) break;
          out.write(buf.subarray(0, n));
        }
      } finally {
        src.close();
      }
      out.write(this.writer.tail(this.log, results, this.log.unsettled()));
      return out.close();
    } catch (e) {
      try {
        out.close();
      } catch {
        // removed below
      }
      discardStaged([out.staged]);
      throw e;
    }
  }

  /** Stops spooling and removes the temporary file. */
  close(): void {
    if (!live.delete(this)) return;
    try {
      this.file.close();
    } catch {
      // already closed
    }
    try {
      Deno.removeSync(this.path);
    } catch {
      // already gone
    }
  }
}
