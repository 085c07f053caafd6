import assert from "node:assert/strict";
import {
  type ConformanceReport,
  formatConformance,
  runConformance,
} from "../core/mpt/conformance.ts";
import { pluginNew } from "../cli/plugin.ts";

function failures(r: ConformanceReport): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.op} | ${c.check} | ${c.reason}`);
}

for (const name of ["kvm", "xen", "acrn"]) {
  Deno.test(`conformance: built-in backend ${name} passes every check`, async () => {
    const r = await runConformance(name);
    assert.equal(r.loaded, true, r.loadError);
    assert.deepEqual(failures(r), [], formatConformance(r));
    assert.ok(r.passed >= 20, `${r.passed} checks ran`);
    assert.equal(r.label, `plugins/${name}.ts (${name})`);
  });
}

Deno.test("conformance: a freshly scaffolded backend passes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim_conf_" });
  try {
    const quiet = { out: () => {}, err: () => {} };
    assert.equal(await pluginNew("mygt", dir, quiet), 0);
    const r = await runConformance(`${dir}/mygt.ts`);
    assert.deepEqual(failures(r), [], formatConformance(r));
    assert.ok(r.nativeOps.native.includes("setTrapArea"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("conformance: the broken fixture fails with a precise reason per op", async () => {
  const r = await runConformance("tests/fixtures/broken_backend.ts");
  assert.equal(r.loaded, true);
  const failed = r.checks.filter((c) => !c.ok);
  const byOp = (op: string, check: string) => {
    const c = failed.find((x) => x.op === op && x.check === check);
    assert.ok(c, `expected a failure of ${op} / ${check}; got:\n${failures(r).join("\n")}`);
    return c.reason;
  };
  assert.match(
    byOp("dmaUnmapGuestPage", "map/pin/unmap balance (refcounts return to zero)"),
    /dmaPinGuestPage\(0x[0-9a-f]+\) = 0 after every map and pin was unmapped: the refcount of gfn 120 did not return to zero \(leak\)/,
  );
  assert.equal(
    byOp("disablePageTrack", "plain writes land in memory once disabled"),
    "a write to gfn 310 after disablePageTrack reached writeProtectHandler",
  );
  assert.equal(
    byOp("injectMsi", "dropped while the guest has MSI disabled"),
    "an MSI reached the guest (at 1000 ns) although MSI is disabled in its config space",
  );
  assert.equal(
    byOp("readGpa", "out-of-range gpa fails cleanly"),
    "readGpa(0xfffff8, 16 bytes) past the end of RAM = 0, expected a negative errno",
  );
  assert.match(
    byOp("setEdid", "no exceptions escape"),
    /1 error\(s\) recorded by the gate, first: tests\/fixtures\/broken_backend\.ts \(broken\): EDID blob not found/,
  );
  // nothing the fixture does right is reported as wrong
  const ok = new Set(r.checks.filter((c) => c.ok).map((c) => `${c.op}/${c.check}`));
  for (
    const k of [
      "enablePageTrack/trapped writes reach writeProtectHandler, not memory",
      "writeGpa/out-of-range gpa fails cleanly",
      "isValidGfn/true for RAM, false for holes and out of range",
      "guestMmioWrite/BAR0 writes reach emulateMmioWrite (offset, size, value)",
    ]
  ) {
    assert.ok(ok.has(k), `${k} should pass`);
  }
  const table = formatConformance(r);
  assert.match(table, /^dmaUnmapGuestPage +map\/pin\/unmap balance .* FAIL +dmaPinGuestPage/m);
  assert.match(table, /18 passed, 7 failed$/);
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
    extraChecks: (spec) => {
      seen.push(String(spec));
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
  const src = await Deno.readTextFile(new URL("../core/mpt/conformance.ts", import.meta.url));
  assert.doesNotMatch(src, /\b(kvm|xen|acrn|qnx)\b/i);
});
