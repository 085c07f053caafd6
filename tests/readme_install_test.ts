/**
 * The README's "Install" section does what it says: its shell blocks, run as written in a
 * scratch HOME, put a `gvtsim` launcher on PATH that works from any directory, and the bash
 * completion file they install completes commands and options through bash's own machinery.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** The ```sh blocks of the README section under `heading`. */
function shellBlocks(heading: string): string[] {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const at = readme.indexOf(`\n## ${heading}`);
  assert.ok(at >= 0, `README has '## ${heading}'`);
  const section = readme.slice(at + 1).split("\n## ")[0];
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Where Deno keeps its cache, so the scratch HOME reuses it (no download). */
async function denoDir(): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(r.stdout)).denoDir;
}

async function bash(script: string, env: Record<string, string>, cwd = ROOT) {
  const r = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", script],
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

Deno.test("README install: a gvtsim launcher on PATH, and bash completion that completes", async () => {
  const home = await Deno.makeTempDir({ prefix: "gvtsim-home-" });
  try {
    const [install, completion] = shellBlocks("Install (a `gvtsim` command on PATH)");
    assert.ok(install && completion, "two shell blocks");
    const denoBin = Deno.execPath().replace(/\/[^/]+$/, "");
    const env = {
      HOME: home,
      PATH: `${home}/.deno/bin:${denoBin}:/usr/bin:/bin`,
      DENO_DIR: await denoDir(),
      NO_COLOR: "1",
    };
    // `deno` is on PATH here: the README's first line (installing it with npm) is skipped
    const steps = install.split("\n").filter((l) => !l.startsWith("npm install -g deno"))
      .join("\n");
    const inst = await bash(steps, env);
    assert.equal(inst.code, 0, inst.err);
    assert.match(inst.out, /Usage: gvtsim run/, "gvtsim --help ran from the launcher");

    // the launcher runs this checkout from anywhere, with the task's permissions
    const run = await bash(
      `gvtsim check ${ROOT}scenarios/sweep.gvt && gvtsim --version`,
      env,
      home,
    );
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /sweep\.gvt: ok .*5 parameter\(s\)/);
    assert.match(run.out, /^gvtsim \d+\.\d+\.\d+$/m);

    // the bash lines of the completion block, as written; then bash completes through them
    const bashLines = completion.split("\n").filter((l) =>
      /bash-completion\/completions/.test(l) && !l.startsWith("#")
    );
    assert.equal(bashLines.length, 2, completion);
    const probe = [
      ...bashLines,
      "source ~/.local/share/bash-completion/completions/gvtsim",
      'f=$(complete -p gvtsim | sed -E "s/.*-F ([^ ]+).*/\\1/")',
      'complete1() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*";',
      '  COMP_POINT=${#COMP_LINE}; COMPREPLY=(); "$f" gvtsim "${@: -1}" "${@: -2:1}";',
      '  echo "${COMPREPLY[*]}"; }',
      "complete1 gvtsim sw",
      "complete1 gvtsim sweep --se",
    ].join("\n");
    const comp = await bash(probe, env, home);
    assert.equal(comp.code, 0, comp.err);
    assert.deepEqual(comp.out.trim().split("\n"), ["sweep", "--seeds"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
