import assert from "node:assert/strict";
import { pluginBuild, pluginNew, pluginTest, relativePath } from "../cli/plugin.ts";
import { runConformance } from "../core/mpt/conformance.ts";
import { taskRunFlags } from "../cli/task_flags.ts";

const PLUGINS = decodeURIComponent(new URL("../plugins", import.meta.url).pathname);

function sink() {
  const lines: string[] = [];
  return { lines, out: (s: string) => void lines.push(s), err: (s: string) => void lines.push(s) };
}

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs a command; its exit code and all its output. */
async function sh(args: string[], cwd: string): Promise<{ code: number; text: string }> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  return { code: r.code, text: dec(r.stdout) + dec(r.stderr) };
}

/** The gvtsim CLI as a deno.json task runs it: the task's own flags (permissions). */
const task = (name: string) => ["run", ...taskRunFlags(name)!, `${ROOT}main.ts`];
/** `deno task gvtsim` (read, write, a few env names). */
const GVTSIM = task("gvtsim");

/** A short run: enough to boot a guest through the backend and complete work. */
const TINY = `scenario tiny
host skylake { hypervisor kvm }
vm a { type V5_4; run w }
workload w { loop { rcs batch { draw 4; store 1 }; wait completion } }
timeline { run 60ms }
`;

// One scaffolded project serves every step, each a subprocess as its user would start it, all
// concurrently but the run of the bundle, which follows the build: the project's `deno check`
// and `deno test` (Deno resolves the package through the project's deno.json `links`),
// `gvtsim plugin test --json` and `deno task plugin-build` then `gvtsim run` of the bundle
// (gvtsim's CLI with each task's flags). Scaffolding is the function the CLI calls, in-process.
Deno.test("plugin SDK end to end: a project scaffolded outside the checkout imports the contract by package name, passes deno test, plugin test --json, plugin build and a run of its bundle", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gvtsim_sdk_" });
  const proj = `${tmp}/acme`;
  try {
    const made = sink();
    assert.equal(await pluginNew("acmegt", proj, made), 0, made.lines.join(""));
    const src = await Deno.readTextFile(`${proj}/acmegt.ts`);
    assert.match(src, /from "@gvtsim\/gvtsim\/mpt";/);
    assert.match(src, /name: "acmegt"/);
    assert.doesNotMatch(src, /\.\.\/|__NAME__|__GVTSIM__|"template"/);
    const testSrc = await Deno.readTextFile(`${proj}/acmegt_test.ts`);
    assert.match(testSrc, /^\/\*\*/, "the scaffolded test starts with its doc comment");
    assert.match(testSrc, /from "@gvtsim\/gvtsim\/kit";[^]*"\.\/acmegt\.ts"/);
    const config = JSON.parse(await Deno.readTextFile(`${proj}/deno.json`));
    assert.deepEqual(config.links, [relativePath(proj, ROOT.replace(/\/$/, ""))]);
    const out = `${proj}/acmegt.js`;
    await Deno.writeTextFile(`${proj}/tiny.gvt`, TINY);
    const [types, test, kit, [built, run]] = await Promise.all([
      // the project resolves the contract's types by package name (the scaffolded test's own
      // types are checked by gvtsim's `deno task check`: templates/backend_test.tmpl.ts)
      sh(["check", "acmegt.ts"], proj),
      // the project's own test, run as its author would: the whole kit, offline
      sh(["test", "-A", "--no-check"], proj),
      // gvtsim's CLI on the same file: the same kit, as JSON
      sh([...GVTSIM, "plugin", "test", `${proj}/acmegt.ts`, "--json"], ROOT),
      // bundle (esbuild resolves the package name as the loader does), then run the bundle as
      // a scenario's hypervisor
      sh([...task("plugin-build"), "plugin", "build", `${proj}/acmegt.ts`, "-o", out], ROOT)
        .then(async (
          b,
        ) => [b, await sh([...GVTSIM, "run", `${proj}/tiny.gvt`, "--hypervisor", out], ROOT)]),
    ]);
    assert.equal(built.code, 0, built.text);
    assert.match(built.text, /backend 'acmegt' loads/);
    assert.doesNotMatch(await Deno.readTextFile(out), /^\s*import\s/m, "self-contained");
    assert.equal(types.code, 0, types.text);
    assert.equal(test.code, 0, test.text);
    assert.match(test.text, /acmegt passes the gvtsim conformance kit \.\.\. .*ok/);
    assert.equal(kit.code, 0, kit.text);
    const report = JSON.parse(kit.text);
    assert.equal(report.schema, "gvtsim.conformance/1");
    assert.equal(report.failed, 0);
    assert.ok(report.passed >= 40);
    assert.deepEqual(report.coverage.notCalled, []);
    assert.equal(run.code, 0, run.text);
    assert.match(run.text, /hypervisor acmegt/);
    assert.match(run.text, /^a\s+V5_4\s+running\s+\d+\s+[1-9][\d.]*%/m, "the guest ran work");
    assert.match(run.text, /plugin errors 0/);
    // never overwrites; bad names are usage errors
    const again = sink();
    assert.equal(await pluginNew("acmegt", proj, again), 2, "never overwrites");
    assert.match(again.lines.join(""), /already exists/);
    assert.equal(await pluginNew("Bad-Name", tmp, sink()), 2);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("plugin build under the gvtsim task says to use the plugin-build task (exit 2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim_build_" });
  try {
    const r = await sh(
      [...GVTSIM, "plugin", "build", "plugins/template.ts", "-o", `${dir}/t.js`],
      ROOT,
    );
    assert.equal(r.code, 2, r.text);
    assert.match(r.text, /needs --allow-run and --allow-env/);
    assert.match(
      r.text,
      new RegExp(`run: deno task plugin-build plugins/template\\.ts -o ${dir}/t\\.js`),
    );
    await assert.rejects(() => Deno.stat(`${dir}/t.js`), "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plugin test: exit 1 on a failed check, 2 when the plugin cannot be loaded", async () => {
  const s = sink();
  const quick = { extraChecks: null }; // the op-by-op rules decide these exit codes
  assert.equal(await pluginTest("tests/fixtures/broken_backend.ts", { ...s, ...quick }), 1);
  assert.match(s.lines.join(""), /FAIL/);
  const m = sink();
  assert.equal(await pluginTest("tests/fixtures/plugin_no_default.ts", m), 2);
  assert.match(m.lines.join(""), /cannot load plugin:\n.*no default export/);
  assert.equal(await pluginTest("tests/fixtures/does_not_exist.ts", sink()), 2);
  const j = sink();
  assert.equal(
    await pluginTest("tests/fixtures/mutants/cfg_width.ts", { ...j, ...quick, json: true }),
    1,
  );
  const report = JSON.parse(j.lines.join(""));
  assert.equal(report.loaded, true);
  assert.ok(report.checks.some((c: { ok: boolean; op: string }) => !c.ok && c.op === "injectMsi"));
  const nl = sink();
  assert.equal(await pluginTest("tests/fixtures/plugin_no_default.ts", { ...nl, json: true }), 2);
  assert.equal(JSON.parse(nl.lines.join("")).loaded, false);
});

Deno.test("plugin build: bundles a backend with its imports into one loadable ESM file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim_build_" });
  try {
    for (const entry of ["plugins/kvm.ts", "plugins/acrn.ts"]) {
      const out = `${dir}/${entry.replace(/\W/g, "_")}.js`;
      const s = sink();
      assert.equal(await pluginBuild(entry, out, s), 0, s.lines.join(""));
      assert.match(s.lines.join(""), /backend '(kvm|acrn)' loads/);
      const js = await Deno.readTextFile(out);
      assert.doesNotMatch(js, /^\s*import\s/m, "self-contained");
      const r = await runConformance(out);
      assert.equal(r.failed, 0);
      assert.ok(r.passed > 20);
    }
    // a plugin spread over two local files
    await Deno.writeTextFile(`${dir}/costs.ts`, `export const EXIT = 1234;\n`);
    await Deno.writeTextFile(
      `${dir}/mine.ts`,
      `import acrn from "${relativePath(dir, PLUGINS)}/acrn.ts";\n` +
        `import { EXIT } from "./costs.ts";\n` +
        `export default (ctx: Parameters<typeof acrn>[0]) =>` +
        ` ({ ...acrn(ctx), name: "mine", costs: { ...acrn(ctx).costs, guestMmioRead: EXIT } });\n`,
    );
    assert.equal(await pluginBuild(`${dir}/mine.ts`, `${dir}/mine.js`, sink()), 0);
    await Deno.remove(`${dir}/costs.ts`);
    const r = await runConformance(`${dir}/mine.js`);
    assert.equal(r.label.endsWith("(mine)"), true);
    assert.equal(r.failed, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plugin build: a broken entry reports esbuild's error and exits 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim_build_" });
  try {
    await Deno.writeTextFile(`${dir}/bad.ts`, `import x from "./missing.ts";\nexport default x;\n`);
    const s = sink();
    assert.equal(await pluginBuild(`${dir}/bad.ts`, `${dir}/bad.js`, s), 2);
    assert.match(
      s.lines.join(""),
      /plugin build: .*bad\.ts:1: Could not resolve "\.\/missing\.ts"/,
    );
    await Deno.writeTextFile(`${dir}/nob.ts`, `export const x = 1;\n`);
    const n = sink();
    assert.equal(await pluginBuild(`${dir}/nob.ts`, `${dir}/nob.js`, n), 2);
    assert.match(n.lines.join(""), /the bundle does not load:\n.*no default export/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plugin new: relative import paths from the scaffold directory", () => {
  assert.equal(relativePath("/a/b/c", "/a/x"), "../../x");
  assert.equal(relativePath("/a", "/a/x/y"), "./x/y");
  assert.equal(relativePath("/a/b", "/a/b"), ".");
});
