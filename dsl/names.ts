/**
 * The one rule for words a user gives as names or keys (VMs, hosts, vGPU types, workloads,
 * backend costs and parameters, scenario parameters, `-D`, sweep axes, `plugin test --param`):
 * every word that the grammar allows names things like any other, except `__proto__`, which
 * is refused wherever it is read, with a located error naming it.
 *
 * Why refuse it rather than support it: names become keys of plain objects that code other
 * than gvtsim's receives (the Scenario of the library API, a backend plugin's `params` and
 * `costs`, results by VM, which the HTML report's script reads in a browser). In browsers and
 * Node, `obj["__proto__"] = x` on a plain object sets its prototype instead of a key, and the
 * `{ __proto__: x }` literal does so everywhere (Deno only removes the accessor), so such a
 * name would silently vanish somewhere down the line. Lookups of every other word
 * that JavaScript objects inherit (`constructor`, `toString`, `hasOwnProperty`, `valueOf`...)
 * use own properties or Maps, so those words work as names (tests/names_test.ts).
 * @module
 */

/**
 * Whether `word` is spelled as a scenario parameter's name (`param NAME`, `$NAME`, `-D NAME=`,
 * a sweep axis): a letter or `_`, then letters, digits and `_` (the lexer's `ParamRef` after
 * its `$`).
 */
export function isParamName(word: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(word);
}

/** Words that cannot name anything. */
export const RESERVED_NAMES: readonly string[] = ["__proto__"];

/** True if `word` is one of {@link RESERVED_NAMES}. */
export function isReservedName(word: string): boolean {
  return RESERVED_NAMES.includes(word);
}

/** The message for a reserved word used as a name (`what`: where it was written, if not in a scenario). */
export function reservedNameMessage(word: string, what?: string): string {
  return `${what ? `${what}: ` : ""}'${word}' cannot be a name: JavaScript objects treat it ` +
    "as their prototype, so gvtsim reserves it (choose another name)";
}
