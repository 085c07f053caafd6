/**
 * A growable list of numbers in one typed array (appending allocates only when it doubles),
 * for short records such as the stretches a VM ran. Records that grow with the run's length
 * (execution spans, completions, frames) use the bounded histories of ./history.ts instead.
 */

/** Growable Float64Array; `data[0 .. length)` are the values. */
export class Samples {
  /** Values; only the first `length` are valid. */
  data: Float64Array = new Float64Array(256);
  /** Number of samples. */
  length = 0;

  /** Appends one value. */
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }

  /** Appends two values (a span, or a time and its value). */
  push2(a: number, b: number): void {
    this.push(a);
    this.push(b);
  }

  /** The samples as a fresh array. */
  toArray(): number[] {
    return Array.from(this.data.subarray(0, this.length));
  }

  /** Drops every sample. */
  clear(): void {
    this.length = 0;
  }
}

/** Time that the spans (start, end pairs) in `s` overlap [from, to). */
export function spanOverlap(s: Samples, from: number, to: number): number {
  let t = 0;
  const d = s.data;
  for (let i = 0; i + 1 < s.length; i += 2) {
    const a = d[i] > from ? d[i] : from, b = d[i + 1] < to ? d[i + 1] : to;
    if (b > a) t += b - a;
  }
  return t;
}
