/**
 * Quantities with units, as the DSL and the CLI write them: times (ns, us, ms, s) become
 * integer nanoseconds, sizes (B, KiB, MiB, GiB) bytes, rates (Hz) per second.
 */

const TIME: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
const SIZE: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** "16.7ms" -> 16700000; undefined if not a time. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s)$/.exec(text.trim());
  return m ? Math.round(Number(m[1]) * TIME[m[2]]) : undefined;
}

/** "512MiB" -> 536870912; undefined if not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)$/.exec(text.trim());
  return m ? Math.round(Number(m[1]) * SIZE[m[2]]) : undefined;
}
