/**
 * `gvtsim repl [scenario]`: a thin node:readline front end over {@link ReplSession} —
 * prompt with the simulated time, persistent history (`$GVTSIM_HISTORY`, else
 * `~/.gvtsim_history`; silently skipped when it cannot be read or written), and tab
 * completion. Works on a terminal and on piped input alike; end of input exits 0.
 * @module
 */

import readline from "node:readline";
import process from "node:process";
import { ReplSession } from "./repl_session.ts";

export { ReplSession } from "./repl_session.ts";

/** Most history lines kept. */
const HISTORY_SIZE = 1000;

/** The history file: $GVTSIM_HISTORY, else ~/.gvtsim_history, else none. */
export function historyPath(): string | undefined {
  try {
    const explicit = Deno.env.get("GVTSIM_HISTORY");
    if (explicit) return explicit;
    const home = Deno.env.get("HOME");
    return home ? `${home}/.gvtsim_history` : undefined;
  } catch {
    return undefined;
  }
}

function readHistory(path: string | undefined): string[] {
  if (!path) return [];
  try {
    const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l.trim() !== "");
    return lines.slice(-HISTORY_SIZE).reverse(); // readline wants the newest first
  } catch {
    return [];
  }
}

function appendHistory(path: string | undefined, line: string): void {
  if (!path || line.trim() === "") return;
  try {
    Deno.writeTextFileSync(path, line.replaceAll("\n", " ") + "\n", { append: true });
  } catch {
    // no home, read-only file system or no permission: history stays in memory only
  }
}

/**
 * Starts the interactive console; resolves to the exit code (0). `defines` (`-D NAME=VALUE`)
 * set scenario parameters of every scenario loaded.
 */
export async function startRepl(path?: string, defines: readonly string[] = []): Promise<number> {
  const session = new ReplSession(defines);
  const terminal = isTerminal();
  const hist = historyPath();
  const print = (s: string) => {
    if (s !== "") process.stdout.write(s.endsWith("\n") ? s : s + "\n");
  };
  if (terminal) print('gvtsim repl: "help" lists the commands, "quit" leaves');
  if (path !== undefined) print(await session.exec(`load ${path}`));
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    history: terminal ? readHistory(hist) : [],
    historySize: HISTORY_SIZE,
    completer: (line: string): [string[], string] => session.complete(line),
  });
  rl.on("SIGINT", () => {
    // ^C drops the line being typed, as shells do; quit or ^D leave.
    rl.write(null, { ctrl: true, name: "u" });
    process.stdout.write("^C (quit or ^D to leave)\n");
    rl.prompt();
  });
  rl.setPrompt(session.prompt());
  rl.prompt();
  for await (const line of rl) {
    if (terminal) appendHistory(hist, line);
    print(await session.exec(line));
    if (session.done) break;
    rl.setPrompt(session.prompt());
    rl.prompt();
  }
  rl.close();
  if (!terminal) process.stdout.write("\n");
  return 0;
}

function isTerminal(): boolean {
  try {
    return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}
