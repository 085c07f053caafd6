/** Running the CLI as a user does in tests: a subprocess with the gvtsim task's permissions. */

/** main.ts, absolute. */
export const MAIN: string = new URL("../main.ts", import.meta.url).pathname;
/** The repository root, absolute, with a trailing slash. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** Runs `gvtsim ARGS...` from the repository root; exit code, stdout and stderr. */
export async function gvtsim(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env=NO_COLOR,HOME,GVTSIM_HISTORY",
      MAIN,
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}
