/** Running the CLI as a user does in tests: a subprocess with the gvtsim task's permissions. */

import { type CliResult, gvtsimTask } from "./task_util.ts";

/** main.ts, absolute. */
export const MAIN: string = new URL("../main.ts", import.meta.url).pathname;
/** The repository root, absolute, with a trailing slash. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** Runs `gvtsim ARGS...` from the repository root; exit code, stdout and stderr. */
export function gvtsim(...args: string[]): Promise<CliResult> {
  return gvtsimTask(args);
}
