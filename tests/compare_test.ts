import assert from "node:assert/strict";
import { compareHypervisors } from "../cli/compare.ts";

const scenario = new URL("../scenarios/kvm_vs_xen.gvt", import.meta.url).pathname;

Deno.test("compare: kvm and xen side by side differ in trap and interrupt overheads", async () => {
  let out = "";
  const code = await compareHypervisors(scenario, ["kvm", "xen"], {
    out: (s) => void (out += s),
    err: () => {},
    until: 5e8,
  });
  assert.equal(code, 0);
  const rows = out.split("\n").filter((l) => l.startsWith("desktop"));
  assert.equal(rows.length, 2);
  const head = out.split("\n")[0].split(/\s{2,}/);
  const col = (row: string, name: string) => row.trim().split(/\s{2,}/)[head.indexOf(name)];
  const us = (t: string) =>
    Number.parseFloat(t) * (t.endsWith("ms") ? 1000 : t.endsWith("us") ? 1 : 1e-3);
  const [kvm, xen] = rows;
  assert.ok(us(col(xen, "trap time/batch")) > us(col(kvm, "trap time/batch")), out);
  assert.ok(us(col(xen, "msi cost")) > us(col(kvm, "msi cost")), out);
});

Deno.test("compare: an unknown backend is invalid input (exit 2) naming it", async () => {
  let err = "";
  const code = await compareHypervisors(scenario, ["kvm", "./nope.ts"], {
    out: () => {},
    err: (s) => void (err += s),
    until: 1e8,
  });
  assert.equal(code, 2);
  assert.match(err, /nope\.ts/);
});
