import assert from "node:assert/strict";
import { Sim } from "../core/sim/sim.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import {
  errorMessage,
  isLoadError,
  loadBackend,
  type LoadedBackend,
  LoadError,
  resolvePlugin,
  validateBackend,
} from "../core/mpt/loader.ts";
import { MPT_CONTRACT_VERSION, OPTIONAL_OPS, REQUIRED_OPS } from "../core/mpt/types.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const ctx = () => new SimBackendContext(new Sim(1));

async function loadErr(spec: string | URL): Promise<LoadError> {
  const r = await loadBackend(spec, ctx());
  assert.ok(isLoadError(r), `expected a LoadError for ${spec}`);
  return r;
}

Deno.test("built-in kvm loads through the loader by name", async () => {
  const r = await loadBackend("kvm", ctx());
  assert.ok(!isLoadError(r), isLoadError(r) ? r.message : "");
  const ok = r as LoadedBackend;
  assert.equal(ok.backend.name, "kvm");
  assert.equal(ok.label, "plugins/kvm.ts (kvm)");
  assert.match(ok.url, /plugins\/kvm\.ts$/);
  for (const op of REQUIRED_OPS) assert.equal(typeof ok.backend[op], "function", op);
});

Deno.test("the built-in name resolves to the same module as its file URL", async () => {
  const byName = resolvePlugin("template");
  const byUrl = new URL("../plugins/template.ts", import.meta.url);
  assert.equal(byName.url.href, byUrl.href);
  const r = await loadBackend(byUrl, ctx());
  assert.ok(!isLoadError(r));
  assert.equal((r as LoadedBackend).backend.name, "template");
});

Deno.test("a plugin path relative to a base directory loads", async () => {
  const r = await loadBackend("../plugins/kvm.ts", ctx(), new URL("./", import.meta.url));
  assert.ok(!isLoadError(r), isLoadError(r) ? r.message : "");
  assert.equal((r as LoadedBackend).label, "../plugins/kvm.ts (kvm)");
});

Deno.test("missing op: the error names the op and the file", async () => {
  const e = await loadErr(fixture("plugin_missing_op.ts"));
  assert.deepEqual(e.problems, ["missing required op 'injectMsi'"]);
  assert.match(e.file, /tests\/fixtures\/plugin_missing_op\.ts$/);
  assert.match(e.message, /plugin_missing_op\.ts: missing required op 'injectMsi'/);
});

Deno.test("wrong types: required op, optional op and cost each reported", async () => {
  const e = await loadErr(fixture("plugin_wrong_type.ts"));
  assert.deepEqual(e.problems, [
    "cost 'injectMsi' is a number (-5), expected a non-negative number of ns",
    "op 'readGpa' is a number (42), expected a function",
    `optional op 'setEdid' is a string ("yes"), expected a function or absent`,
  ]);
  assert.match(e.message, /plugin_wrong_type\.ts: op 'readGpa'/);
});

Deno.test("a factory that throws gives its message without a stack", async () => {
  const e = await loadErr(fixture("plugin_factory_throws.ts"));
  assert.deepEqual(e.problems, ["factory threw: no hypervisor here"]);
  assert.doesNotMatch(e.message, /\n\s+at /);
});

Deno.test("no default export / module that throws / missing file", async () => {
  const a = await loadErr(fixture("plugin_no_default.ts"));
  assert.match(a.problems[0], /^no default export/);
  const b = await loadErr(fixture("plugin_import_throws.ts"));
  assert.equal(b.problems[0], "cannot import: module init failed");
  const c = await loadErr(fixture("does_not_exist.ts"));
  assert.equal(c.problems[0], "no such file");
  assert.match(c.file, /does_not_exist\.ts$/);
  const d = await loadErr("no_such_builtin");
  assert.equal(d.file, "plugins/no_such_builtin.ts");
  assert.match(d.problems[0], /^unknown hypervisor backend 'no_such_builtin'; built-in backends: /);
  // only .ts/.js/.mjs regular files are imported (Deno would run any other file as JavaScript)
  const f = await loadErr(fixture("scenarios/containment.gvt"));
  assert.match(f.problems[0], /^a plugin must be a \.ts, \.js or \.mjs file/);
  const dir = await Deno.makeTempDir({ suffix: ".ts" });
  const g = await loadErr(new URL(`file://${dir}`));
  assert.match(g.problems[0], /is not a regular file$/);
  await Deno.remove(dir);
  const e = await loadErr("https://example.com/x.ts");
  assert.match(e.problems[0], /only local plugins/);
});

Deno.test("validateBackend reports every missing op of an empty object", () => {
  const p = validateBackend({ name: "x", contract: MPT_CONTRACT_VERSION, costs: {} });
  assert.equal(p.length, REQUIRED_OPS.length);
  for (const op of REQUIRED_OPS) assert.ok(p.includes(`missing required op '${op}'`), op);
  assert.deepEqual(validateBackend(null), ["factory returned null, expected a backend object"]);
  const withBadOptional: Record<string, unknown> = {
    name: "x",
    contract: MPT_CONTRACT_VERSION,
    costs: {},
  };
  for (const op of REQUIRED_OPS) withBadOptional[op] = () => 0;
  for (const op of OPTIONAL_OPS) withBadOptional[op] = 1;
  assert.equal(validateBackend(withBadOptional).length, OPTIONAL_OPS.length);
});

Deno.test("errorMessage strips stack lines", () => {
  const e = new Error("boom\n    at foo (file:///x.ts:1:1)\n    at bar");
  assert.equal(errorMessage(e), "boom");
  assert.equal(errorMessage(42), "42");
  assert.ok(new LoadError("f.ts", ["a", "b"]).message === "f.ts: a\nf.ts: b");
});

Deno.test("openBackend: op cost overrides go to the gate, other names to the backend", async () => {
  const { openBackend } = await import("../core/mpt/open.ts");
  const sim = new Sim(1);
  const r = await openBackend(sim, {
    name: "kvm",
    params: { eventfd: true },
    costs: { injectMsi: 7, mmio_exit: 9_000 },
    faults: [],
  });
  assert.ok(!isLoadError(r));
  const o = r as Exclude<typeof r, LoadError>;
  assert.equal(o.gate.costOfOp("injectMsi"), 7);
  assert.equal(o.gate.costOfOp("guestMmioRead"), 9_000, "backend cost from a parameter");
  assert.equal(o.ctx.label, "plugins/kvm.ts (kvm)");
  const bad = await openBackend(sim, { name: "nope", params: {}, costs: {}, faults: [] });
  assert.ok(isLoadError(bad));
});

Deno.test("contract version: a backend declares it; the loader refuses none or another, saying why", () => {
  const ok = { ...Object.fromEntries(REQUIRED_OPS.map((o) => [o, () => 0])), name: "x", costs: {} };
  assert.deepEqual(validateBackend({ ...ok, contract: MPT_CONTRACT_VERSION }), []);
  assert.deepEqual(validateBackend(ok), [
    `declares no MPT contract version: add 'contract: MPT_CONTRACT_VERSION' (from ` +
    `@gvtsim/gvtsim/mpt) to the backend; this gvtsim implements contract ${MPT_CONTRACT_VERSION}`,
  ]);
  const [old] = validateBackend({ ...ok, contract: 1 });
  assert.match(
    old,
    /^is written for MPT contract 1, but this gvtsim implements contract 3 \(and accepts 2\.\.3; .*port it and declare 'contract: 3'$/,
  );
  assert.match(old, /"Contract versions"/);
  assert.deepEqual(validateBackend({ ...ok, contract: 2 }), [], "2 only lacks what 3 added");
  const [future] = validateBackend({ ...ok, contract: 4 });
  assert.match(future, /contract 4.*: use a newer gvtsim$/);
});

Deno.test("contract version: a plugin file without it cannot be loaded (file and reason named)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim_contract_" });
  try {
    const src = await Deno.readTextFile(new URL("../plugins/template.ts", import.meta.url));
    const root = new URL("..", import.meta.url).pathname;
    await Deno.writeTextFile(
      `${dir}/old.ts`,
      src.replaceAll(`"../mpt.ts"`, `"${root}mpt.ts"`).replace(
        "contract: MPT_CONTRACT_VERSION,",
        "contract: 1,",
      ),
    );
    const e = await loadErr(`${dir}/old.ts`);
    assert.match(
      e.message,
      /old\.ts: is written for MPT contract 1, but this gvtsim implements contract 3/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
