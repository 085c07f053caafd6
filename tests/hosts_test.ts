/**
 * Several hosts and live migration, underneath the CLI: the DSL's checks of named hosts and
 * `migrate` (through `gvtsim check`), exact-slice allocation on a migration target, the guest
 * memory's dirty log, and the MPT dirty-log ops of kvm and xen with the generic fallback.
 */
import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";
import { gvtsimTask } from "./task_util.ts";
import { hostSpec } from "./gvt_util.ts";
import { scenario } from "./migration_util.ts";
import { GmPartition, isShortage } from "../core/gvt/resources.ts";
import { GuestMemory } from "../core/guest/memory.ts";
import { HostMemory, PAGE_SIZE } from "../core/hw/memory.ts";
import { Sim } from "../core/sim/sim.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import { isLoadError, loadBackend } from "../core/mpt/loader.ts";
import { MptGate } from "../core/mpt/gate.ts";
import { builtinTypes, findType } from "../core/vgpu_types.ts";

const MiB = 1024 * 1024;

Deno.test("hosts and migrate are checked: names, one unnamed host, same GPU, not the same host", async () => {
  const cases: [string, RegExp][] = [
    [scenario({ migrate: "migrate x to c" }), /unknown host 'c'; expected one of: a, b/],
    [scenario({ migrate: "migrate x to a" }), /'x' already runs on host 'a'/],
    [scenario({ migrate: "migrate x b" }), /'migrate' takes a vm and a host/],
    [scenario({ migrate: "migrate x to b hashing maybe" }), /hashing/],
    [scenario({ migrate: "migrate x to b rounds 3" }), /unknown migrate option 'rounds'/],
    [scenario({ migrate: "migrate x to b bandwidth 10ms" }), /bandwidth/],
    [
      scenario().replace("host b skylake", "host b broadwell"),
      /only between GPUs of the same kind/,
    ],
    [scenario().replace("host b skylake", "host skylake"), /a host without a name among named/],
    [scenario().replace("host b skylake", "host a skylake"), /duplicate host 'a'/],
    [
      "host skylake {}\nvm x { host a; type V5_4; run w }\nworkload w { flip }\n",
      /names host 'a', but the scenario has one unnamed host/,
    ],
    [
      "host skylake {}\nvm x { type V5_4; run w }\nworkload w { flip }\ntimeline { at 1s migrate x to b }\n",
      /'migrate' needs named hosts/,
    ],
  ];
  const dir = await Deno.makeTempDir();
  try {
    const files = cases.map((_, i) => `${dir}/c${i}.gvt`);
    cases.forEach(([text], i) => Deno.writeTextFileSync(files[i], text));
    const p = await gvtsim("check", ...files);
    assert.equal(p.code, 2, p.out + p.err);
    const all = p.out + p.err;
    cases.forEach(([, want], i) => {
      const mine = all.split("\n").filter((l) => l.includes(`c${i}.gvt:`)).join("\n");
      assert.match(mine, want, `case ${i}: ${mine}`);
    });
    // the scenario itself checks clean
    Deno.writeTextFileSync(`${dir}/ok.gvt`, scenario());
    assert.equal((await gvtsim("check", `${dir}/ok.gvt`)).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a target host allocates the exact slices a migrated guest ballooned for", () => {
  const types = builtinTypes("V5");
  const t = findType(types, "V5_4")!;
  const p = new GmPartition(hostSpec());
  const first = p.allocate(t);
  assert.ok(!isShortage(first));
  const at = { aperture: first.aperture.base + t.aperture, hidden: first.hidden.base + t.hidden };
  const second = p.allocate(t, at);
  assert.ok(!isShortage(second));
  assert.equal(second.aperture.base, at.aperture);
  assert.equal(second.hidden.base, at.hidden);
  // taken, overlapping, outside: refused
  assert.ok(isShortage(p.allocate(t, at)));
  assert.ok(
    isShortage(p.allocate(t, { aperture: at.aperture - MiB, hidden: at.hidden + t.hidden })),
  );
  assert.ok(isShortage(p.allocate(t, { aperture: 0, hidden: at.hidden + t.hidden })));
});

Deno.test("guest memory logs CPU writes while logging is on; get-and-clear empties the log", () => {
  const mem = new GuestMemory(new HostMemory(64 * MiB), 1, 16 * MiB);
  mem.write32(5 * PAGE_SIZE, 1);
  const bits = new Uint8Array(mem.frames);
  assert.equal(mem.takeDirty(bits), -1, "not logging");
  mem.logDirty(true);
  mem.write32(7 * PAGE_SIZE + 8, 2);
  mem.write(9 * PAGE_SIZE, new Uint8Array(PAGE_SIZE + 1)); // frames 9 and 10
  const g = mem.allocPage();
  mem.write32(g * PAGE_SIZE, 1);
  mem.freePage(g);
  assert.equal(mem.allocPage(), g, "the page comes back zeroed: a CPU write");
  assert.equal(mem.takeDirty(bits), 4);
  assert.deepEqual([...bits.keys()].filter((i) => bits[i]), [7, 9, 10, g].sort((a, b) => a - b));
  assert.equal(mem.takeDirty(new Uint8Array(mem.frames)), 0, "cleared");
  mem.read32(7 * PAGE_SIZE); // reads are not writes
  assert.equal(mem.takeDirty(new Uint8Array(mem.frames)), 0);
  // the host frames the GPU writes directly never reach the log
  mem.host.write32(mem.residentMfn(7) * PAGE_SIZE, 3);
  assert.equal(mem.takeDirty(new Uint8Array(mem.frames)), 0);
});

Deno.test("MPT dirtyLog/dirtyLogSync: kvm and xen answer from the log, the fallback reports every page", async () => {
  for (const name of ["kvm", "xen", "template"]) {
    const sim = new Sim(1);
    const ctx = new SimBackendContext(sim);
    const l = await loadBackend(name, ctx);
    assert.ok(!isLoadError(l));
    const gate = new MptGate(sim, l.backend, name);
    const mem = new GuestMemory(new HostMemory(64 * MiB), 1, 16 * MiB);
    ctx.setGuestMemory(1, mem);
    assert.ok(gate.attachVgpu({ id: 1, vm: "v", memory: 16 * MiB, vcpus: 1, bar0: 0, bar2: 0 }));
    assert.equal(gate.dirtyLog(1, true), 0);
    mem.write32(3 * PAGE_SIZE, 1);
    const bits = new Uint8Array(mem.frames);
    assert.equal(gate.dirtyLogSync(1, bits), 0);
    const set = bits.reduce((n, b) => n + b, 0);
    if (name === "template") assert.equal(set, mem.frames, `${name}: no log, all dirty`);
    else {
      assert.equal(set, 1, name);
      assert.equal(bits[3], 1);
    }
    assert.equal(gate.opCount("dirtyLogSync", 1), 1);
  }
});

Deno.test("REPL: vms shows each VM's host; a multi-host checkpoint replays and verifies every host", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/m.gvt`, scenario());
    const r = await gvtsimTask(["repl", "m.gvt"], {
      cwd: dir,
      stdin: "run 1500ms\nvms\nsave c.ckpt\nload c.ckpt\nvms\n",
    });
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /vm +host +state/);
    assert.match(r.out, /x +b +running/, "x runs on b after its migration at 1 s");
    assert.match(r.out, /the scenario has 2 hosts; .* replays the journal/);
    assert.match(r.out, /digest verified/);
    const ck = JSON.parse(await Deno.readTextFile(`${dir}/c.ckpt`));
    assert.ok("host b" in ck.parts, "the digest covers host b");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
