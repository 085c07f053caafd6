/** Writing a file so that an interrupted write never leaves a truncated file in its place. */

/**
 * Writes `text` to a temporary file in the target's directory and renames it over `path`
 * (rename is atomic within a directory): readers see the old file or the new one.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const tmp = `${dir}/.${path.slice(slash + 1)}.${Deno.pid}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
