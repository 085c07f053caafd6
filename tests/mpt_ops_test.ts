import assert from "node:assert/strict";
import { GATED_OPS, MPT_OPS, mptOpTable } from "../core/mpt/ops.ts";
import { DEFAULT_COSTS, MPT_OP_NAMES } from "../core/mpt/gate.ts";
import { OPTIONAL_OPS, REQUIRED_OPS } from "../core/mpt/types.ts";
import { MptGate } from "../core/mpt/gate.ts";
import { isLoadError, loadBackend } from "../core/mpt/loader.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import { Sim } from "../core/sim/sim.ts";
import { formatResult, parseScenarioText } from "../dsl/mod.ts";

Deno.test("op table: the docs' op table is the one rendered from MPT_OPS", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/plugins.md", import.meta.url));
  const m = doc.match(/<!-- mpt-ops:begin[^>]*-->\n\n([\s\S]*?)\n\n<!-- mpt-ops:end -->/);
  assert.ok(m, "docs/plugins.md has the generated op table between its markers");
  assert.equal(m[1], mptOpTable());
});

Deno.test("op table: op lists, gate order and default costs all come from MPT_OPS", () => {
  assert.deepEqual([...REQUIRED_OPS, ...OPTIONAL_OPS].sort(), MPT_OPS.map((o) => o.name).sort());
  assert.deepEqual(MPT_OP_NAMES, GATED_OPS.map((o) => o.name));
  for (const o of GATED_OPS) {
    assert.equal(DEFAULT_COSTS[o.name as keyof typeof DEFAULT_COSTS], o.cost);
  }
  // optional as upstream's mpt.h wrappers (NULL-checked there)
  for (const name of ["detachVgpu", "isValidGfn", "attachVgpu", "setTrapArea", "setEdid"]) {
    assert.ok(OPTIONAL_OPS.includes(name as never), `${name} is optional`);
  }
  for (const name of ["injectMsi", "readGpa", "dmaMapGuestPage", "guestMmioRead"]) {
    assert.ok(REQUIRED_OPS.includes(name as never), `${name} is required`);
  }
});

Deno.test("docs: the native-vs-fallback table of docs/plugins.md is what the gate reports", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/plugins.md", import.meta.url));
  const at = doc.indexOf("| optional op ");
  const lines = doc.slice(at).split("\n");
  const rows = lines.slice(2, lines.findIndex((l) => !l.startsWith("|")));
  const names = ["kvm", "xen", "acrn", "template"];
  for (const [i, name] of names.entries()) {
    const sim = new Sim(1);
    const l = await loadBackend(name, new SimBackendContext(sim));
    assert.ok(!isLoadError(l));
    const native = new MptGate(sim, l.backend, name).nativeOps().native;
    for (const row of rows) {
      const cells = row.split("|").map((c) => c.trim());
      for (const op of cells[1].split(" / ")) {
        assert.equal(cells[2 + i], native.includes(op) ? "native" : "fallback", `${name} ${op}`);
      }
    }
  }
});

Deno.test("op table: a fault rule on an op the core never calls in a run is refused, located", () => {
  const never = GATED_OPS.filter((o) => o.called === "never").map((o) => o.name);
  assert.deepEqual(never, ["hostExit", "gfnToMfn", "save", "restore"]);
  for (const op of never) {
    const r = parseScenarioText(
      `scenario f\nhost skylake { hypervisor kvm { fault ${op} error } }\n` +
        `vm a { type V5_4; run w }\nworkload w { loop { think 1ms } }\ntimeline { run 1ms }\n`,
      "f.gvt",
    );
    assert.equal(r.scenario, undefined, op);
    assert.match(
      formatResult(r),
      new RegExp(`f\\.gvt:2:\\d+: error: a fault on '${op}' could never fire`),
    );
  }
});
