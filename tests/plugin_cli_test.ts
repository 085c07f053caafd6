import assert from "node:assert/strict";
import { pluginBuild, pluginNew, pluginTest, relativePath } from "../cli/plugin.ts";
import { runConformance } from "../core/mpt/conformance.ts";

const PLUGINS = decodeURIComponent(new URL("../plugins", import.meta.url).pathname);

function sink() {
  const lines: string[] = [];
  return { lines, out: (s: string) => void lines.push(s), err: (s: string) => void lines.push(s) };
}

Deno.test("plugin new: scaffolds a backend whose own test passes out of the box", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim_new_" });
  try {
    const s = sink();
    assert.equal(await pluginNew("acmegt", `${dir}/sub`, s), 0);
    const src = await Deno.readTextFile(`${dir}/sub/acmegt.ts`);
    assert.match(src, /name: "acmegt"/);
    assert.doesNotMatch(src, /__NAME__|__GVTSIM__/);
    const t = sink();
    assert.equal(await pluginTest(`${dir}/sub/acmegt.ts`, t), 0);
    assert.match(t.lines.join(""), /33 passed, 0 failed/);
    // the scaffold's own test, run as its author would (from its directory, no config)
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-read", "--no-config", "acmegt_test.ts"],
      cwd: `${dir}/sub`,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, text);
    assert.match(text, /acmegt passes the gvtsim conformance kit \.\.\. .*ok/);
    const again = sink();
    assert.equal(await pluginNew("acmegt", `${dir}/sub`, again), 2, "never overwrites");
    assert.match(again.lines.join(""), /already exists/);
    assert.equal(await pluginNew("Bad-Name", dir, sink()), 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
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
  assert.equal(await pluginTest("xen", sink()), 0);
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
