/**
 * The `deno run` flags of the `gvtsim` task in deno.json — the permissions gvtsim runs with —
 * for whatever starts gvtsim as a subprocess (sweep scripts, tests), so it never grants more
 * than `deno task gvtsim` does.
 * @module
 */

/**
 * The flags between `deno run` and `main.ts` in the task's last command (the task may first
 * run `deno install`), or undefined when deno.json cannot be read or has no such command.
 */
export function gvtsimTaskFlags(): string[] | undefined {
  return taskRunFlags("gvtsim");
}

/**
 * The flags between `deno run` and `main.ts` in the last command of deno.json's task `task`
 * (`gvtsim`, `plugin-build`, ...), or undefined when there is no such command.
 */
export function taskRunFlags(task: string): string[] | undefined {
  try {
    const cfg = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
    const last = String(cfg.tasks?.[task] ?? "").split("&&").pop()!.trim().split(/\s+/);
    const main = last.indexOf("main.ts");
    if (last[0] !== "deno" || last[1] !== "run" || main < 0) return undefined;
    return last.slice(2, main);
  } catch {
    return undefined;
  }
}
