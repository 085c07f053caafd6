/**
 * `gvtsim repl [scenario]`: a thin node:readline front end over {@link ReplSession} —
 * prompt with the simulated time, persistent history (`$GVTSIM_HISTORY`, else
 * `~/.gvtsim_history`; silently skipped when it cannot be read or written), and tab
 * completion on a terminal. Piped input runs line by line to the end (exit 0) and stops at
 * the first failing command (exit 2). Ctrl-C stops a running `run` or `until`.
 * @module
 */

import readline from "node:readline";
import process from "node:process";
import { ReplSession } from "./repl_session.ts";
import { EXIT_INTERRUPTED, listenForCtrlC } from "./interrupt.ts";

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
 * Starts the console; resolves to the exit code (0, or 2 when a piped script fails).
 * `defines` (`-D NAME=VALUE`) set scenario parameters of every scenario loaded.
 */
export async function startRepl(path?: string, defines: readonly string[] = []): Promise<number> {
  const session = new ReplSession(defines);
  let running = false;
  session.interrupts = listenForCtrlC(() => running);
  const exec = async (line: string): Promise<string> => {
    running = true;
    try {
      return await session.exec(line);
    } finally {
      running = false;
    }
  };
  try {
    return isTerminal() ? await interactive(session, exec, path) : await piped(session, exec, path);
  } finally {
    session.close();
  }
}

type Exec = (line: string) => Promise<string>;

function print(s: string): void {
  if (s !== "") process.stdout.write(s.endsWith("\n") ? s : s + "\n");
}

/**
 * Piped input: each line is run in order, after the prompt, to the end of the input; the
 * first command that fails ends the script with exit 2 (as a shell script with `set -e`),
 * a command stopped by Ctrl-C ends it with exit 130.
 */
async function piped(session: ReplSession, exec: Exec, path?: string): Promise<number> {
  if (path !== undefined) {
    print(await exec(`load ${path}`));
    if (session.failed) return 2;
  }
  for await (const line of stdinLines()) {
    process.stdout.write(session.prompt());
    print(await exec(line));
    if (session.failed) return 2;
    if (session.interrupts.requested()) return EXIT_INTERRUPTED;
    if (session.done) return 0;
  }
  process.stdout.write(session.prompt() + "\n");
  return 0;
}

/** Lines of stdin as they arrive (the last one may lack its newline). */
async function* stdinLines(): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of Deno.stdin.readable) {
    buf += dec.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
    }
  }
  buf += dec.decode();
  if (buf !== "") yield buf;
}

/** A terminal: readline with history and completion; Ctrl-C stops a run or clears the line. */
async function interactive(session: ReplSession, exec: Exec, path?: string): Promise<number> {
  const hist = historyPath();
  print('gvtsim repl: "help" lists the commands, "quit" leaves');
  if (path !== undefined) print(await exec(`load ${path}`));
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history: readHistory(hist),
    historySize: HISTORY_SIZE,
    completer: (line: string): [string[], string] => session.complete(line),
  });
  let busy = false;
  rl.on("SIGINT", () => {
    if (busy) {
      // a command is running: ask it to stop (it reports where it stopped)
      session.interrupts.request();
      return;
    }
    // ^C drops the line being typed, as shells do; quit or ^D leave.
    rl.write(null, { ctrl: true, name: "u" });
    process.stdout.write("^C (quit or ^D to leave)\n");
    rl.prompt();
  });
  const lines = rl[Symbol.asyncIterator]();
  for (;;) {
    rl.setPrompt(session.prompt());
    rl.prompt();
    const next = await lines.next();
    if (next.done) break;
    appendHistory(hist, next.value);
    busy = true;
    try {
      print(await exec(next.value));
    } finally {
      busy = false;
    }
    if (session.done) break;
  }
  rl.close();
  return 0;
}

function isTerminal(): boolean {
  try {
    return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}
