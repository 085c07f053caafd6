/**
 * Fuzzing the command line: random argument lists (commands, options, values, good and bad
 * paths) and random REPL scripts, each run as a subprocess with the `gvtsim` task's flags in
 * a scratch directory. The property ({@link checkCliRun}): the exit code is 0, 1, 2 (or 130 is
 * never seen: nothing interrupts), no stack trace and no exception escaped a command (main.ts
 * reports one as `gvtsim: error:`).
 * @module
 */

import fc from "fast-check";
import { gvtsimTaskFlags } from "../cli/task_flags.ts";

const root = new URL("..", import.meta.url).pathname;

/** Files of the scratch directory the runs use (written by {@link scratchDir}). */
const FILES: Record<string, string> = {
  "s.gvt": Deno.readTextFileSync(`${root}scenarios/weights.gvt`).replace(
    /run \d+s/,
    "run 30ms",
  ),
  "bad.gvt": "vm { oops\nexpect ((((\n",
  "inc.gvt": 'include "/etc/passwd"\n',
  "p.ts": "export default () => ({});\n",
  "junk.ckpt": '{\n "format": "gvtsim-snapshot",\n "version": 21,\n',
};

/** A scratch directory with the fuzz files. */
export function scratchDir(): string {
  const dir = Deno.makeTempDirSync({ prefix: "gvtsim-fuzz-" });
  for (const [name, text] of Object.entries(FILES)) Deno.writeTextFileSync(`${dir}/${name}`, text);
  return dir;
}

const path = fc.constantFrom(
  "s.gvt",
  "bad.gvt",
  "inc.gvt",
  "p.ts",
  "junk.ckpt",
  "nope.gvt",
  ".",
  "/dev/zero",
  "/etc/passwd",
  "-",
  "out.json",
  "",
  "\x1b[2J.gvt",
);
const value = fc.oneof(
  path,
  fc.constantFrom("10ms", "0s", "86401s", "1e999s", "-1", "0", "4294967296", "kvm", "xen", "x"),
  fc.constantFrom("512MiB", "dmaMapGuestPage error", "hostExit error", "readGpa throw vm heavy"),
  // names objects inherit, and the refused one (dsl/names.ts)
  fc.constantFrom(
    "__proto__",
    "constructor",
    "__proto__=1",
    "constructor=2",
    "readGpa error vm __proto__",
  ),
  fc.string({ maxLength: 6 }),
);
const option = fc.constantFrom(
  "--seed",
  "--until",
  "--hypervisor",
  "--json",
  "--csv",
  "--trace",
  "--report",
  "--fault",
  "--checkpoint-at",
  "--checkpoint",
  "--restore",
  "--aperture",
  "--html",
  "--hypervisors",
  "-D",
  "-q",
  "--help",
);
const command = fc.constantFrom("run", "check", "types", "syntax", "compare", "repl", "fmt", "x");

/** A random command line. */
export const argv: fc.Arbitrary<string[]> = fc.tuple(
  command,
  fc.array(fc.oneof(path, fc.tuple(option, value).map(([o, v]) => `${o}\u0000${v}`)), {
    maxLength: 5,
  }),
).map(([c, rest]) => [c, ...rest.flatMap((x) => x.split("\u0000"))]);

/** A random REPL script (piped). */
export const replScript: fc.Arbitrary<string> = fc.array(
  fc.oneof(
    fc.constantFrom(
      "load s.gvt",
      "load bad.gvt",
      "load junk.ckpt",
      "load /dev/zero",
      "run 5ms",
      "run 0s",
      "step",
      "until switch 10ms",
      "vms",
      "pause heavy",
      "weight light 3",
      "save c.ckpt",
      "save s.gvt",
      "load c.ckpt",
      "mmio heavy RCS_IMR 0xffff",
      "watch fps(light)",
      "events 3",
      "help",
      "vm __proto__",
      "pause __proto__",
      "weight constructor 2",
      "watch fps(toString)",
      "help constructor",
      "counters valueOf",
    ),
    fc.string({ maxLength: 10 }),
  ),
  { maxLength: 6 },
).map((lines) => lines.join("\n") + "\n");

/** What one CLI run gave. */
export interface CliRun {
  /** Exit code. */
  code: number;
  /** Both streams. */
  output: string;
  /** Wall time (ms). */
  ms: number;
}

/** Runs gvtsim with the task's flags in `dir`, with a wall-clock limit (then killed). */
export async function runCli(
  args: string[],
  dir: string,
  stdin?: string,
  limitMs = 60_000,
): Promise<CliRun> {
  const flags = gvtsimTaskFlags() ?? [];
  const p = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${root}main.ts`, ...args],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const t0 = performance.now();
  const timer = setTimeout(() => p.kill("SIGKILL"), limitMs);
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  const o = await p.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: o.code,
    output: dec.decode(o.stdout) + dec.decode(o.stderr),
    ms: performance.now() - t0,
  };
}

/** What is wrong with one run (empty when it is fine). */
export function checkCliRun(r: CliRun): string[] {
  const out: string[] = [];
  if (![0, 1, 2].includes(r.code)) out.push(`exit code ${r.code}`);
  if (/\n\s+at .*\.ts:\d+:\d+/.test(r.output)) out.push("a stack trace was printed");
  if (/^gvtsim: error:/m.test(r.output)) out.push("an exception escaped a command");
  if (/internal error/i.test(r.output)) out.push("an internal error was reported");
  return out;
}
