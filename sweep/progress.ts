/**
 * A sweep's progress on stderr with an ETA: on a terminal one bar redrawn in place; in a log
 * (a Slurm task, a pipe) one line per finished run.
 */

/** Formats seconds as m:ss or h:mm:ss. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/** Progress of the runs of one sweep invocation. */
export class SweepProgress {
  private readonly start: number;
  private finished = 0;
  private running = 0;
  private drawn = false;

  /**
   * @param write where it goes (stderr)
   * @param total runs to do
   * @param terminal redraw one bar (else print a line per run)
   * @param now wall clock in ms (tests pass their own)
   */
  constructor(
    private readonly write: (s: string) => void,
    private readonly total: number,
    private readonly terminal: boolean,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
  }

  /** Seconds left, from the mean wall time per finished run so far (undefined before one). */
  eta(): number | undefined {
    if (this.finished === 0) return undefined;
    const elapsed = (this.now() - this.start) / 1000;
    return elapsed / this.finished * (this.total - this.finished);
  }

  /** A run started. */
  started(): void {
    this.running++;
    if (this.terminal) this.bar();
  }

  /** A run finished; `what` names it, `outcome` says how it went. */
  done(what: string, outcome: string, wallMs: number): void {
    this.running = Math.max(0, this.running - 1);
    this.finished++;
    if (this.terminal) {
      this.bar();
      return;
    }
    const eta = this.eta();
    this.write(
      `[${this.finished}/${this.total}] ${what}: ${outcome} (${(wallMs / 1000).toFixed(1)}s)` +
        (this.finished < this.total && eta !== undefined ? `, ETA ${clock(eta)}` : "") + "\n",
    );
  }

  /** Clears the bar (terminal) at the end. */
  end(): void {
    if (this.terminal && this.drawn) this.write("\r\x1b[K");
  }

  private bar(): void {
    const width = 24;
    const full = this.total ? Math.round(this.finished / this.total * width) : width;
    const eta = this.eta();
    const elapsed = (this.now() - this.start) / 1000;
    this.write(
      `\r\x1b[K[${"#".repeat(full)}${
        "-".repeat(width - full)
      }] ${this.finished}/${this.total} runs, ` +
        `${this.running} running, ${clock(elapsed)} elapsed` +
        (eta !== undefined && this.finished < this.total ? `, ETA ${clock(eta)}` : ""),
    );
    this.drawn = true;
  }
}
