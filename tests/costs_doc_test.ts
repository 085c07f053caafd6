// docs/costs.md restates the cost tables of the code with their sources; this keeps every
// figure it gives equal to the table it comes from, so a cost changed in code (or a typo in a
// command name) cannot leave the documentation behind.

import assert from "node:assert/strict";
import { cmdId, COMMANDS } from "../core/cmd/table.ts";
import { SKYLAKE_GT2 } from "../core/hw/gpu.ts";
import { DEFAULT_DISPATCH_COSTS } from "../core/gvt/dispatch.ts";
import { NATIVE_COSTS } from "../core/native/driver.ts";
import { KVM_DEFAULT_COSTS } from "../plugins/kvm.ts";
import { XEN_DEFAULT_COSTS } from "../plugins/xen.ts";
import { ACRN_DEFAULT_COSTS } from "../plugins/acrn.ts";

const DOC = await Deno.readTextFile(new URL("../docs/costs.md", import.meta.url));

/** The body rows (cells trimmed) of the first table after a heading. */
function table(heading: string): string[][] {
  const at = DOC.indexOf(`\n## ${heading}`);
  assert(at >= 0, `docs/costs.md has a section '${heading}'`);
  const lines = DOC.slice(at).split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    rows.push(lines[i].split("|").slice(1, -1).map((c) => c.trim()));
  }
  assert(rows.length > 0, `a table under '${heading}'`);
  return rows;
}

const num = (s: string): number => Number(s.replaceAll(",", ""));

Deno.test("costs.md: each command's documented cost is the command table's", () => {
  let checked = 0;
  for (const [cls, cmds, costs] of table("GPU commands")) {
    if (cls === "context restore") {
      assert.equal(num(costs), SKYLAKE_GT2.contextSwitchNs, "context restore");
      checked++;
      continue;
    }
    const groups = cmds.split(";");
    const values = costs.replace(/\(.*\)/, "").split(";").map((v) => v.trim());
    assert.equal(groups.length, values.length, `'${cls}': one cost per group of commands`);
    groups.forEach((g, i) => {
      for (const [, name] of g.matchAll(/`([A-Z0-9_]+)`/g)) {
        assert(cmdId(name) >= 0, `'${cls}': ${name} is a command of core/cmd/table.ts`);
        if (values[i].includes("-")) continue; // a range over several commands
        assert.equal(COMMANDS[cmdId(name)].cost, num(values[i]), `${name} costs ${values[i]} ns`);
        checked++;
      }
    });
  }
  assert(checked >= 25, `checked ${checked} command costs`);
});

Deno.test("costs.md: each backend's documented trap cost is its default", () => {
  const tables = [KVM_DEFAULT_COSTS, XEN_DEFAULT_COSTS, ACRN_DEFAULT_COSTS];
  let checked = 0;
  for (const row of table("Traps and MPT paths (per backend)")) {
    tables.forEach((costs, i) => {
      for (const [, name, value] of row[1 + i].matchAll(/`(\w+)` ([\d,]+)/g)) {
        assert(name in costs, `${name} is a cost of backend column ${i + 1}`);
        assert.equal(costs[name], num(value), `${name} costs ${value} ns`);
        checked++;
      }
    });
  }
  assert(checked >= 20, `checked ${checked} trap costs`);
});

Deno.test("costs.md: mediator and native figures are the code's defaults", () => {
  const med = new Map(table("Mediator").map((r) => [r[0], r[1]]));
  assert.equal(num(med.get("prepare one workload")!), DEFAULT_DISPATCH_COSTS.prepareNs);
  assert.equal(
    num(med.get("TLB invalidation at a switch")!),
    DEFAULT_DISPATCH_COSTS.tlbInvalidateNs,
  );
  assert(med.get("MMIO context switch")!.startsWith(`${DEFAULT_DISPATCH_COSTS.regAccessNs} per`));
  const cpu = new Map(table("Guest and native CPU time").map((r) => [r[0], r[1]]));
  const n = NATIVE_COSTS;
  assert.equal(
    cpu.get("native: build and submit one request"),
    `${n.submit.toLocaleString("en")} + ${n.perDword} per dword + 4 MMIO x ${n.mmio}`,
  );
  assert.equal(num(cpu.get("native: interrupt to waiter")!), n.irq);
});
