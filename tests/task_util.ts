/**
 * Runs the CLI exactly as `deno task gvtsim` does: the task's own `deno run` flags, read from
 * deno.json, so tests prove what the task grants and refuses.
 */

import { gvtsimTaskFlags } from "../cli/task_flags.ts";

const root = new URL("..", import.meta.url).pathname;

/** The `deno run` flags of the `gvtsim` task (everything between `run` and `main.ts`). */
export function taskFlags(): string[] {
  const flags = gvtsimTaskFlags();
  if (flags === undefined) throw new Error("deno.json has no `deno run ... main.ts` gvtsim task");
  return flags;
}

/** What a finished CLI process gave. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
}

/** Options of {@link gvtsimTask}. */
export interface TaskOptions {
  /** Working directory (default the repository root). */
  cwd?: string;
  /** Text fed to stdin (default none). */
  stdin?: string;
  /** Extra environment. */
  env?: Record<string, string>;
}

function command(args: string[], o: TaskOptions, stdin: boolean): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskFlags(), `${root}main.ts`, ...args],
    cwd: o.cwd ?? root,
    env: { NO_COLOR: "1", ...o.env },
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Drops what Deno itself prints while another process holds node_modules (not gvtsim's). */
function denoNoise(err: string): string {
  return err.replace(/^Blocking waiting for file lock.*\n/gm, "");
}

/** Runs `gvtsim ARGS` with the task's permissions. */
export async function gvtsimTask(args: string[], o: TaskOptions = {}): Promise<CliResult> {
  const p = command(args, o, o.stdin !== undefined).spawn();
  if (o.stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(o.stdin));
    await w.close();
  }
  const r = await p.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: denoNoise(dec.decode(r.stderr)) };
}

/**
 * Starts `gvtsim ARGS`, waits until `ready(output so far)` holds, sends it SIGINT and collects
 * what it gave (and how long it took to stop, in ms).
 */
export async function interruptTask(
  args: string[],
  ready: (output: string) => boolean,
  o: TaskOptions = {},
): Promise<CliResult & { ms: number }> {
  const p = command(args, o, o.stdin !== undefined).spawn();
  if (o.stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(o.stdin));
    // stdin stays open: the command is still running when the signal arrives
    w.releaseLock();
  }
  const dec = new TextDecoder();
  let out = "", err = "";
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const c of s) add(dec.decode(c, { stream: true }));
  };
  const outDone = pump(p.stdout, (t) => void (out += t));
  const errDone = pump(p.stderr, (t) => void (err += t));
  const deadline = Date.now() + 20_000;
  while (!ready(out + err) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200)); // well inside the long computation
  const t0 = Date.now();
  p.kill("SIGINT");
  const status = await p.status;
  const ms = Date.now() - t0;
  await outDone;
  await errDone;
  if (o.stdin !== undefined) await p.stdin.close().catch(() => {});
  return { code: status.code, out, err: denoNoise(err), ms };
}

/** A scratch directory with a copy of scenarios/weights.gvt (`s.gvt`) and an old output. */
export async function scratch(): Promise<{ dir: string; files: () => Record<string, string> }> {
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(`${root}scenarios/weights.gvt`, `${dir}/s.gvt`);
  await Deno.writeTextFile(`${dir}/old.json`, "OLD\n");
  const files = () => {
    const out: Record<string, string> = {};
    for (const e of Deno.readDirSync(dir)) out[e.name] = Deno.readTextFileSync(`${dir}/${e.name}`);
    return out;
  };
  return { dir, files };
}

/** The only line of `err` (fails when there are more). */
export function oneLine(err: string): string {
  const lines = err.trimEnd().split("\n");
  if (lines.length !== 1) throw new Error(`expected one line, got:\n${err}`);
  return lines[0];
}
