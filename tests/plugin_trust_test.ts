/**
 * Code runs only where the user named it (issue 10), through the CLI and the REPL: a plugin is
 * a .ts/.js/.mjs file, `check` says which code a scenario loads, and a checkpoint never names
 * code — it records a built-in name or a plugin file's hash, and a restore loads that built-in
 * or a file the user names whose content matches.
 */
import assert from "node:assert/strict";
import { encodeSnapshot, type SnapshotFile } from "../core/snapshot.ts";
import { gvtsimTask, oneLine, scratch } from "./task_util.ts";

const root = new URL("..", import.meta.url).pathname;

/** JavaScript that leaves a mark when it runs (it must never run). */
const EVIL = 'Deno.writeTextFileSync("PWNED", "ran");\nexport default () => ({});\n';

/** A copy of the kvm backend as a user's plugin file in `dir`. */
async function pluginCopy(dir: string, name: string, extra = ""): Promise<void> {
  const src = (await Deno.readTextFile(`${root}plugins/kvm.ts`))
    .replaceAll('"../core/', `"${root}core/`);
  await Deno.writeTextFile(`${dir}/${name}`, src + extra);
}

Deno.test("plugins: only .ts/.js/.mjs files are imported; check names the code a scenario loads", async () => {
  const { dir } = await scratch();
  await Deno.writeTextFile(`${dir}/evil.gvt`, EVIL);
  const scenario = await Deno.readTextFile(`${dir}/s.gvt`);
  await Deno.writeTextFile(
    `${dir}/p.gvt`,
    scenario.replace(/hypervisor kvm/, 'hypervisor "./evil.gvt"'),
  );
  const checked = await gvtsimTask(["check", "p.gvt"], { cwd: dir });
  assert.equal(checked.code, 2);
  assert.match(
    checked.err,
    /p\.gvt:\d+:\d+: error: hypervisor "\.\/evil\.gvt": a plugin must be a \.ts, \.js or \.mjs file/,
  );
  const cli = await gvtsimTask(["run", "s.gvt", "--hypervisor", "evil.gvt", "-q"], { cwd: dir });
  assert.equal(cli.code, 2);
  assert.match(oneLine(cli.err), /evil\.gvt: a plugin must be a \.ts, \.js or \.mjs file/);
  const repl = await gvtsimTask(["repl"], { cwd: dir, stdin: "load p.gvt\n" });
  assert.equal(repl.code, 2);
  assert.match(repl.out, /error: p\.gvt:\d+:\d+: hypervisor "\.\/evil\.gvt": a plugin must be/);
  assert.throws(() => Deno.statSync(`${dir}/PWNED`), Deno.errors.NotFound, "no code ran");

  await pluginCopy(dir, "mine.ts");
  await Deno.writeTextFile(
    `${dir}/q.gvt`,
    scenario.replace(/hypervisor kvm/, 'hypervisor "./mine.ts"'),
  );
  const ok = await gvtsimTask(["check", "s.gvt", "q.gvt"], { cwd: dir });
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /s\.gvt: ok .*\n {2}hypervisor kvm: built-in backend plugins\/kvm\.ts\n/);
  assert.match(
    ok.out,
    /q\.gvt: ok .*\n {2}hypervisor "\.\/mine\.ts": loads plugin code from mine\.ts\n/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("plugins: a plugin checkpoint restores only with a file of the recorded content", async () => {
  const { dir } = await scratch();
  await pluginCopy(dir, "mine.ts");
  const args = ["run", "s.gvt", "-q", "--until", "30ms", "--hypervisor", "./mine.ts"];
  const ck = await gvtsimTask(
    [...args, "--checkpoint-at", "10ms", "--checkpoint", "c.ckpt", "--json", "a.json"],
    { cwd: dir },
  );
  assert.ok(ck.code <= 1, ck.err);
  const text = await Deno.readTextFile(`${dir}/c.ckpt`);
  const snap = JSON.parse(text) as SnapshotFile;
  assert.match(
    JSON.stringify(snap.backend.plugin),
    /^\{"sha256":"[0-9a-f]{64}","file":".*mine\.ts"\}$/,
  );

  const none = await gvtsimTask(["run", "--restore", "c.ckpt", "-q"], { cwd: dir });
  assert.equal(none.code, 2);
  assert.match(
    oneLine(none.err),
    /c\.ckpt: error: the checkpoint was taken with a plugin file \(.*mine\.ts, sha256 [0-9a-f]{16}\.\.\.\): name that file/,
  );
  await pluginCopy(dir, "changed.ts", "// one more line\n");
  const changed = await gvtsimTask(
    ["run", "--restore", "c.ckpt", "-q", "--hypervisor", "./changed.ts"],
    { cwd: dir },
  );
  assert.equal(changed.code, 2);
  assert.match(oneLine(changed.err), /changed\.ts: content does not match the checkpoint's plugin/);
  const builtin = await gvtsimTask(
    ["run", "--restore", "c.ckpt", "-q", "--hypervisor", "kvm"],
    { cwd: dir },
  );
  assert.equal(builtin.code, 2);
  assert.match(oneLine(builtin.err), /a built-in backend cannot stand for the checkpoint's plugin/);

  const same = await gvtsimTask(
    ["run", "--restore", "c.ckpt", "-q", "--hypervisor", "./mine.ts", "--json", "b.json"],
    { cwd: dir },
  );
  assert.ok(same.code <= 1, same.err);
  assert.equal(
    await Deno.readTextFile(`${dir}/b.json`),
    await Deno.readTextFile(`${dir}/a.json`),
    "restored with the same plugin, the run continues exactly",
  );
  const repl = await gvtsimTask(["repl"], { cwd: dir, stdin: "load c.ckpt ./mine.ts\nrun 1ms\n" });
  assert.equal(repl.code, 0, repl.out);
  assert.match(repl.out, /restored weights at 10ms from c\.ckpt/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("plugins: a checkpoint whose scenario names a plugin path restores with the recorded built-in", async () => {
  const { dir } = await scratch();
  await Deno.writeTextFile(`${dir}/evil.ts`, EVIL);
  const ck = await gvtsimTask(
    ["run", "s.gvt", "-q", "--until", "20ms", "--checkpoint-at", "5ms", "--checkpoint", "c.ckpt"],
    { cwd: dir },
  );
  assert.ok(ck.code <= 1, ck.err);
  // An attacker edits the stored scenario to name a plugin and recomputes the content digest.
  const snap = JSON.parse(await Deno.readTextFile(`${dir}/c.ckpt`)) as SnapshotFile;
  const main = snap.scenario.file;
  snap.scenario.sources[main] = snap.scenario.sources[main].replace(
    /hypervisor kvm/,
    'hypervisor "./evil.ts"',
  );
  await Deno.writeTextFile(`${dir}/c.ckpt`, encodeSnapshot(snap));
  const r = await gvtsimTask(["run", "--restore", "c.ckpt", "-q"], { cwd: dir });
  const repl = await gvtsimTask(["repl"], { cwd: dir, stdin: "load c.ckpt\n" });
  assert.throws(() => Deno.statSync(`${dir}/PWNED`), Deno.errors.NotFound, "evil.ts never ran");
  assert.ok(r.code <= 1, r.err);
  assert.equal(repl.code, 0, repl.out);
  assert.match(repl.out, /restored weights at 5ms/);
  await Deno.remove(dir, { recursive: true });
});
