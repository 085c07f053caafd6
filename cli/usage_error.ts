/**
 * Short usage errors: the problem, a "did you mean" when a command or option is misspelt, and
 * only the usage of the command that was meant (not every command's), like git or cargo. A bad
 * value of a well-named option is one line.
 * @module
 */

import type { Parser } from "@optique/core/parser";
import { extractOptionNames, formatUsage } from "@optique/core/usage";
import { closest } from "../core/suggest.ts";

// deno-lint-ignore no-explicit-any
type AnyParser = Parser<any, any, any>;

/**
 * Rewords the argument parser's error (`errorText`, as it printed it) for `argv`: names the
 * command, adds a suggestion, and shows that command's usage and where its help is.
 */
export function shortUsageError(
  errorText: string,
  argv: readonly string[],
  commands: Readonly<Record<string, AnyParser>>,
): string {
  const names = Object.keys(commands);
  const problem = errorText.replace(/^Error:\s*/, "").replace(/\s+/g, " ").trim()
    .replace(/ Did you mean.*$/, "");
  const cmd = argv.find((a) => names.includes(a));
  if (cmd === undefined) {
    const first = argv.find((a) => !a.startsWith("-"));
    const guess = first === undefined ? undefined : closest(first, names);
    return [
      first === undefined
        ? `gvtsim: ${problem}`
        : `gvtsim: unknown command '${first}'${guess ? ` (did you mean '${guess}'?)` : ""}`,
      `commands: ${names.join(", ")}`,
      "Run 'gvtsim --help' for more.",
    ].join("\n");
  }
  // a bad value of an option the user named right: the message says it all
  if (/^`--?[^`]+`: /.test(problem)) return `gvtsim ${cmd}: ${problem.replace(/`/g, "'")}`;
  const parser = commands[cmd];
  const bad = /`(--?[^`]+)`/.exec(problem)?.[1];
  const options = [...extractOptionNames(parser.usage)];
  const guess = bad && /Unexpected option/.test(problem)
    ? closest(bad.replace(/=.*$/, ""), options)
    : undefined;
  return [
    `gvtsim ${cmd}: ${problem.replace(/`/g, "'")}${guess ? ` (did you mean '${guess}'?)` : ""}`,
    `Usage: ${formatUsage("gvtsim", parser.usage)}`,
    `Run 'gvtsim ${cmd} --help' for the options and examples.`,
  ].join("\n");
}
