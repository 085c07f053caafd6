/** A progress bar on stderr for runs longer than a second (only on a terminal). */

/** Progress of one run. */
export class Progress {
  private readonly start = performance.now();
  private shown = false;
  private last = -1;

  /**
   * @param write where the bar goes (stderr)
   * @param enabled false when stderr is not a terminal
   */
  constructor(private readonly write: (s: string) => void, private readonly enabled: boolean) {}

  /** Updates the bar to `fraction` (0..1); appears only after a second of wall time. */
  update(fraction: number): void {
    if (!this.enabled || performance.now() - this.start < 1000) return;
    const pct = Math.floor(fraction * 100);
    if (pct === this.last) return;
    this.last = pct;
    const width = 30, full = Math.round((pct / 100) * width);
    this.write(`\r[${"#".repeat(full)}${"-".repeat(width - full)}] ${String(pct).padStart(3)}%`);
    this.shown = true;
  }

  /** Clears the bar. */
  done(): void {
    if (this.shown) this.write("\r" + " ".repeat(40) + "\r");
  }
}
