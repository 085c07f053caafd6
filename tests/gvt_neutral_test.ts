import assert from "node:assert/strict";

Deno.test("core/gvt never names a particular hypervisor", async () => {
  const dir = new URL("../core/gvt/", import.meta.url);
  const bad = /\b(kvm|kvmgt|xen|xengt|acrn|qnx|vfio|qemu)\b/i;
  const hits: string[] = [];
  const walk = async (u: URL) => {
    for await (const e of Deno.readDir(u)) {
      const child = new URL(e.name + (e.isDirectory ? "/" : ""), u);
      if (e.isDirectory) await walk(child);
      else if (e.name.endsWith(".ts")) {
        const lines = (await Deno.readTextFile(child)).split("\n");
        lines.forEach((l, i) => {
          if (bad.test(l)) hits.push(`${e.name}:${i + 1}: ${l.trim()}`);
        });
      }
    }
  };
  await walk(dir);
  assert.deepEqual(hits, []);
});
