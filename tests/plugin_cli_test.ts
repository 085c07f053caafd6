import assert from "node:assert/strict";
import { pluginBuild, pluginNew, pluginTest, relativePath } from "../cli/plugin.ts";
import { runConformance } from "../core/mpt/conformance.ts";

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

const GVTSIM = ["run", "--allow-read", "--allow-write", "--allow-env", `${ROOT}main.ts`];

Deno.test("plugin SDK end to end: a project scaffolded outside the checkout imports the contract by package name, passes deno test, plugin test --json, plugin build and a run of its bundle", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gvtsim_sdk_" });
  const proj = `${tmp}/acme`;
  try {
    const made = await sh([...GVTSIM, "plugin", "new", "acmegt", "--dir", proj], ROOT);
    assert.equal(made.code, 0, made.text);
    const src = await Deno.readTextFile(`${proj}/acmegt.ts`);
    assert.match(src, /from "@gvtsim\/gvtsim\/mpt";/);
    assert.match(src, /name: "acmegt"/);
    assert.doesNotMatch(src, /\.\.\/|__NAME__|__GVTSIM__|"template"/);
    const config = JSON.parse(await Deno.readTextFile(`${proj}/deno.json`));
    assert.deepEqual(config.links, [relativePath(proj, ROOT.replace(/\/$/, ""))]);
    // the project's own test, run as its author would: the whole kit, offline
    const test = await sh(["test", "-A"], proj);
    assert.equal(test.code, 0, test.text);
    assert.match(test.text, /acmegt passes the gvtsim conformance kit \.\.\. .*ok/);
    // gvtsim's CLI on the same file: the same kit, as JSON
    const kit = await sh([...GVTSIM, "plugin", "test", `${proj}/acmegt.ts`, "--json"], ROOT);
    assert.equal(kit.code, 0, kit.text);
    const report = JSON.parse(kit.text);
    assert.equal(report.schema, "gvtsim.conformance/1");
    assert.equal(report.failed, 0);
    assert.ok(report.passed >= 40);
    assert.deepEqual(report.coverage.notCalled, []);
    // bundle (esbuild resolves the package name as the loader does), then run the bundle
    const out = `${proj}/acmegt.js`;
    const built = await sh(
      ["run", "-A", `${ROOT}main.ts`, "plugin", "build", `${proj}/acmegt.ts`, "-o", out],
      ROOT,
    );
    assert.equal(built.code, 0, built.text);
    assert.match(built.text, /backend 'acmegt' loads/);
    assert.doesNotMatch(await Deno.readTextFile(out), /^\s*import\s/m, "self-contained");
    const run = await sh([...GVTSIM, "run", "scenarios/weights.gvt", "--hypervisor", out], ROOT);
    assert.ok(run.code === 0 || run.code === 1, run.text);
    assert.match(run.text, /hypervisor acmegt/);
    // never overwrites; bad names are usage errors
    const again = sink();
    assert.equal(await pluginNew("acmegt", proj, again), 2, "never overwrites");
    assert.match(again.lines.join(""), /already exists/);
    assert.equal(await pluginNew("Bad-Name", tmp, sink()), 2);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("plugin test: exit 1 on a failed check, 2 when the plugin cannot be loaded", async () => {
  const s = sink();
  assert.equal(await pluginTest("tests/fixtures/broken_backend.ts", s), 1);
  assert.match(s.lines.join(""), /FAIL/);
  const m = sink();
  assert.equal(await pluginTest("tests/fixtures/plugin_no_default.ts", m), 2);
  assert.match(m.lines.join(""), /cannot load plugin:\n.*no default export/);
  assert.equal(await pluginTest("tests/fixtures/does_not_exist.ts", sink()), 2);
  const j = sink();
  assert.equal(await pluginTest("tests/fixtures/mutants/cfg_width.ts", { ...j, json: true }), 1);
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
