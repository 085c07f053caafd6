import assert from "node:assert/strict";
import {
  type ConformanceReport,
  coverageLine,
  formatConformance,
  runConformance,
} from "../core/mpt/conformance.ts";
import { KIT_CHECKS } from "../core/mpt/kit_checks.ts";
import { MPT_OP_NAMES } from "../core/mpt/gate.ts";
import { pluginNew } from "../cli/plugin.ts";

function failures(r: ConformanceReport): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.op} | ${c.check} | ${c.reason}`);
}

for (const name of ["kvm", "xen", "acrn", "template"]) {
  Deno.test(`conformance: built-in backend ${name} passes every rule`, async () => {
    const r = await runConformance(name);
    assert.equal(r.loaded, true, r.loadError);
    assert.deepEqual(failures(r), [], formatConformance(r));
    assert.equal(r.passed, KIT_CHECKS.length + 1, "every rule plus 'no exceptions escape'");
    assert.equal(r.label, `plugins/${name}.ts (${name})`);
    assert.deepEqual(r.coverage.notCalled, [], "the op-by-op rules call every MPT op");
  });
}

Deno.test("conformance: the coverage line names ops never called and the paths taken", async () => {
  const r = await runConformance("kvm");
  assert.deepEqual(Object.keys(r.coverage.ops), [...MPT_OP_NAMES]);
  for (
    const p of ["dma 2M mapped", "dma 2M refused", "bar0 write 8B", "cfg write 1B", "two vGPUs"]
  ) {
    assert.ok(r.coverage.paths.includes(p), `path ${p}`);
  }
  const line = coverageLine({ ...r.coverage, notCalled: ["fromVirtToMfn"] });
  assert.match(line, /^coverage: 28\/29 ops called \(never called: fromVirtToMfn\); \d+ paths: /);
  assert.match(formatConformance(r), /^coverage: 29\/29 ops called; \d+ paths: bar0 read 1B, /m);
});

Deno.test("conformance: a freshly scaffolded backend passes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim_conf_" });
  try {
    const quiet = { out: () => {}, err: () => {} };
    assert.equal(await pluginNew("mygt", dir, quiet), 0);
    const r = await runConformance(`${dir}/mygt.ts`);
    assert.deepEqual(failures(r), [], formatConformance(r));
    assert.ok(r.nativeOps.native.includes("setTrapArea"));
    assert.equal(r.label, `${dir}/mygt.ts (mygt)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conformance: the broken fixture fails with a precise reason per op", async () => {
  const r = await runConformance("tests/fixtures/broken_backend.ts");
  assert.equal(r.loaded, true);
  const failed = r.checks.filter((c) => !c.ok);
  const byOp = (op: string, check: RegExp) => {
    const c = failed.find((x) => x.op === op && check.test(x.check));
    assert.ok(c, `expected a failure of ${op} / ${check}; got:\n${failures(r).join("\n")}`);
    return c.reason;
  };
  assert.match(
    byOp("dmaUnmapGuestPage", /^map\/pin\/unmap balance/),
    /dmaPinGuestPage\(0x[0-9a-f]+\) = 0 after every map and pin of gfn 120 \(4 KiB\) was unmapped: the refcount did not return to zero \(leak\)/,
  );
  assert.equal(
    byOp("disablePageTrack", /^plain writes land in memory once disabled$/),
    "a write to gfn 310 after disablePageTrack reached writeProtectHandler",
  );
  assert.equal(
    byOp("injectMsi", /^dropped while the guest has MSI disabled$/),
    "an MSI reached the guest (at 1000 ns) although MSI is disabled in its config space",
  );
  assert.equal(
    byOp("readGpa", /^out-of-range gpa fails cleanly$/),
    "readGpa(0xfffff8, 16 bytes) past the end of RAM = 0, expected a negative errno",
  );
  assert.match(
    byOp("setEdid", /^no exceptions escape$/),
    /1 error\(s\) recorded by the gate, first: tests\/fixtures\/broken_backend\.ts \(broken\): EDID blob not found/,
  );
  // nothing the fixture does right is reported as wrong
  const ok = new Set(r.checks.filter((c) => c.ok).map((c) => `${c.op}/${c.check}`));
  for (
    const k of [
      "enablePageTrack/trapped writes reach writeProtectHandler, not memory",
      "writeGpa/out-of-range gpa fails cleanly",
      "isValidGfn/true for RAM, false for holes and out of range",
      "guestMmioWrite/BAR0 writes of 1/2/4/8 bytes, aligned or not, reach the core byte-exact",
    ]
  ) {
    assert.ok(ok.has(k), `${k} should pass`);
  }
  const table = formatConformance(r);
  assert.match(table, /^dmaUnmapGuestPage +map\/pin\/unmap balance .* FAIL +dmaPinGuestPage/m);
  assert.match(table, new RegExp(`${r.passed} passed, ${r.failed} failed$`));
  assert.ok(r.failed >= 8, `${r.failed} failed`);
});

Deno.test("conformance: an unloadable plugin gives a report with the loader's reason", async () => {
  const r = await runConformance("tests/fixtures/plugin_missing_op.ts");
  assert.equal(r.loaded, false);
  assert.equal(r.checks.length, 0);
  assert.match(r.loadError, /missing required op 'injectMsi'/);
  assert.match(formatConformance(r), /cannot load plugin:/);
});

Deno.test("conformance: extraChecks plug in; a throwing stage is one failed check", async () => {
  const seen: string[] = [];
  const r = await runConformance("kvm", {
    extraChecks: (spec, calls) => {
      seen.push(String(spec));
      calls.fromVirtToMfn += 0;
      return Promise.resolve([{ op: "scenario", check: "short run", ok: false, reason: "x" }]);
    },
  });
  assert.deepEqual(seen, ["kvm"]);
  assert.deepEqual(r.checks.at(-1), { op: "scenario", check: "short run", ok: false, reason: "x" });
  assert.equal(r.failed, 1);
  const t = await runConformance("kvm", { extraChecks: () => Promise.reject(new Error("boom")) });
  assert.deepEqual(t.checks.at(-1), {
    op: "extraChecks",
    check: "runs",
    ok: false,
    reason: "threw: boom",
  });
});

Deno.test("conformance: the kit never names a backend", async () => {
  for (const f of ["conformance.ts", "kit_checks.ts", "kit_rig.ts"]) {
    const src = await Deno.readTextFile(new URL(`../core/mpt/${f}`, import.meta.url));
    assert.doesNotMatch(src, /\b(kvm|xen|acrn|qnx)\b/i, f);
  }
});
