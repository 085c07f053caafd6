import assert from "node:assert/strict";

/** The mediator core must never know which hypervisor it runs under (docs/domain.md section 0). */
Deno.test("core/ names no particular hypervisor", async () => {
  const offenders: string[] = [];
  const banned = /\b(kvm|kvmgt|xen|xengt|acrn|qnx|vfio|qemu|hyper-v|vmware)\b/i;
  async function walk(dir: URL) {
    for await (const e of Deno.readDir(dir)) {
      const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(u);
      else if (e.name.endsWith(".ts")) {
        const lines = (await Deno.readTextFile(u)).split("\n");
        lines.forEach((l, i) => {
          if (banned.test(l)) {
            offenders.push(`${u.pathname.split("/core/")[1]}:${i + 1}: ${l.trim()}`);
          }
        });
      }
    }
  }
  await walk(new URL("../core/", import.meta.url));
  assert.deepEqual(offenders, []);
});
