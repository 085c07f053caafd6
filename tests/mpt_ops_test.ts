import assert from "node:assert/strict";
import { GATED_OPS, MPT_OPS, mptOpTable } from "../core/mpt/ops.ts";
import { DEFAULT_COSTS, MPT_OP_NAMES } from "../core/mpt/gate.ts";
import { OPTIONAL_OPS, REQUIRED_OPS } from "../core/mpt/types.ts";

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
