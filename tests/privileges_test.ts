/**
 * Least privilege that holds (issue 10): the `gvtsim` task's own flags (read from deno.json)
 * keep a plugin — code the user named, running inside gvtsim — from fetching packages,
 * importing remote code, reaching the network, starting programs, loading native code, reading
 * other environment variables or asking for more permissions. Each attempt fails cleanly: one
 * line naming the plugin, exit 2, deno.lock untouched. One flag per attempt, each shown to be
 * the one that stops it.
 */
import assert from "node:assert/strict";
import { gvtsimTask, oneLine, scratch, taskFlags } from "./task_util.ts";

const root = new URL("..", import.meta.url).pathname;

/** A plugin whose module does `attempt` on import (so loading it is the attempt). */
const plugin = (attempt: string) => `${attempt}\nexport default () => ({});\n`;

const ATTEMPTS: { name: string; flag: string; code: string; refused: RegExp }[] = [
  {
    name: "npm",
    flag: "--cached-only",
    code: 'await import("npm:left-pad@1.3.0");',
    refused: /npm package not found in cache: "left-pad", --cached-only is specified/,
  },
  {
    name: "remote",
    flag: "--no-remote",
    code: 'await import("https://deno.land/std@0.224.0/path/mod.ts");',
    refused: /A remote specifier was requested: .*but --no-remote is specified/,
  },
  {
    name: "net",
    flag: "(no --allow-net)",
    code: 'await fetch("https://example.com/");',
    refused: /Requires net access to "example\.com:443"/,
  },
  {
    name: "run",
    flag: "(no --allow-run)",
    code: 'new Deno.Command("sh", { args: ["-c", "touch RAN"] }).outputSync();',
    refused: /Requires run access to "sh"/,
  },
  {
    name: "ffi",
    flag: "(no --allow-ffi)",
    code: 'Deno.dlopen("/lib/x86_64-linux-gnu/libc.so.6", {});',
    refused: /Requires ffi access/,
  },
  {
    name: "env",
    flag: "--allow-env=<list>",
    code: 'Deno.env.get("PATH");',
    refused: /Requires env access to "PATH"/,
  },
];

Deno.test("privileges: the gvtsim task runs with no prompt, a frozen lock, no npm download, no remote import", () => {
  const flags = taskFlags();
  for (const f of ["--no-prompt", "--frozen", "--cached-only", "--no-remote"]) {
    assert.ok(flags.includes(f), `${f} in the gvtsim task`);
  }
  assert.ok(
    !flags.some((f) => /^--allow-(net|run|ffi|sys|all|import)|^-A$/.test(f)),
    flags.join(" "),
  );
});

Deno.test("privileges: a plugin's every attempt beyond read/write fails cleanly", async () => {
  const { dir } = await scratch();
  const lock = await Deno.readTextFile(`${root}deno.lock`);
  for (const a of ATTEMPTS) await Deno.writeTextFile(`${dir}/${a.name}.ts`, plugin(a.code));
  const runs = await Promise.all(
    ATTEMPTS.map((a) =>
      gvtsimTask(["run", "s.gvt", "-q", "--hypervisor", `./${a.name}.ts`], { cwd: dir })
    ),
  );
  runs.forEach((r, i) => {
    const a = ATTEMPTS[i];
    assert.equal(r.code, 2, `${a.name}: ${r.err}`);
    assert.match(oneLine(r.err), new RegExp(`${a.name}\\.ts: cannot import: `), a.name);
    assert.match(r.err, a.refused, `${a.name} stopped by ${a.flag}`);
    assert.equal(r.out, "");
  });
  assert.equal(await Deno.readTextFile(`${root}deno.lock`), lock, "deno.lock untouched");
  assert.throws(() => Deno.statSync(`${dir}/RAN`), Deno.errors.NotFound, "no program ran");
  await Deno.remove(dir, { recursive: true });
});

/** Whether util-linux `script` (a pseudo-terminal, where Deno would prompt) is available. */
function hasScript(): boolean {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
}

Deno.test({
  name: "privileges: on a terminal, a plugin's permission request is denied without a prompt",
  ignore: !hasScript(),
  fn: async () => {
    const { dir } = await scratch();
    await Deno.writeTextFile(
      `${dir}/ask.ts`,
      'const s = await Deno.permissions.request({ name: "net" });\n' +
        "throw new Error(`permission request answered: ${s.state}`);\n",
    );
    // Under a pseudo-terminal, answering "y": without --no-prompt Deno would grant it.
    const answer = async (flags: string[]) => {
      const cmd = [Deno.execPath(), "run", ...flags, `${root}main.ts`, "run", "s.gvt", "-q"]
        .concat(["--hypervisor", "./ask.ts"]).join(" ");
      const p = new Deno.Command("/usr/bin/script", {
        args: ["-qec", cmd, "/dev/null"],
        cwd: dir,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const w = p.stdin.getWriter();
      // Once Deno asks, type "y" (again every 300 ms: Deno discards what arrives while it
      // sets up its prompt) until the process ends.
      const dec = new TextDecoder();
      let out = "", timer: ReturnType<typeof setInterval> | undefined;
      const y = () => w.write(new TextEncoder().encode("y\n")).catch(() => {});
      for await (const chunk of p.stdout) {
        out += dec.decode(chunk, { stream: true });
        if (timer === undefined && /Allow\?/.test(out)) timer = setInterval(y, 300);
      }
      clearInterval(timer);
      await p.status;
      w.close().catch(() => {}); // the pipe's reader is gone with the process
      await p.stderr.cancel();
      return out;
    };
    const withTask = await answer(taskFlags());
    assert.match(withTask, /ask\.ts: cannot import: permission request answered: denied/);
    assert.doesNotMatch(withTask, /Allow\?/, "no prompt was shown");
    const without = await answer(taskFlags().filter((f) => f !== "--no-prompt"));
    assert.match(without, /permission request answered: granted/, "--no-prompt is what holds");
    await Deno.remove(dir, { recursive: true });
  },
});
