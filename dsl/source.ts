/**
 * Reading scenario sources: a path, or `-` for standard input (read once, so a scenario given
 * on stdin can be loaded several times, as `compare` does).
 * @module
 */

/** The path that means standard input. */
export const STDIN_PATH = "-";

let stdinText: string | undefined;

/** All of standard input, read synchronously the first time and remembered. */
function readStdinSync(): string {
  if (stdinText !== undefined) return stdinText;
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  stdinText = new TextDecoder().decode(all);
  return stdinText;
}

/** Reads a scenario source: `-` is standard input, anything else a file. */
export function readSource(path: string): string {
  return path === STDIN_PATH ? readStdinSync() : Deno.readTextFileSync(path);
}
