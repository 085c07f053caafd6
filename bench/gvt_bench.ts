/**
 * Mediator speed: emulated MMIO accesses through the full trap path (guest -> kvm backend
 * -> gate -> mediator), GGTT entry writes through the GTT window, shadowing a full guest
 * page-table page (512 present PTEs, DMA-mapped), and the command scanner on a realistic
 * render batch (dwords per iteration printed in the name: dwords/s = iter/s x dwords), and
 * the copy-back of a render workload's shadow context (`update_guest_context`).
 * Run: deno bench --allow-read bench/gvt_bench.ts
 */

import { addGuest, addVgpu, CFG_GPA, gvtRig, MiB, mix as mixOf } from "../tests/gvt_util.ts";
import { batchLength, buildBatch, type MixCounts } from "../core/cmd/batch.ts";
import { emitBatchBufferStart, emitNoop } from "../core/cmd/encode.ts";
import {
  FORCEWAKE_RENDER_GEN9,
  GTT_OFFSET,
  PVINFO,
  RCS,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE,
  VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY,
  VGT_PVINFO_PAGE,
} from "../core/hw/regs.ts";
import { ScanResult } from "../core/gvt/scanner.ts";
import { updateGuestContext } from "../core/gvt/shadow_ctx.ts";
import { MS } from "../core/sim/sim.ts";

const r = await gvtRig({ host: { invariants: false } });
const v = addVgpu(r, { vm: "bench", memory: 256 * MiB, cfg: CFG_GPA });
const mem = r.mems.get(v.id)!;
const gate = r.gate;
const bar0 = v.bar0;
// The guest reads PVINFO first (it is PV-aware).
gate.guestMmioRead(v.id, bar0 + VGT_PVINFO_PAGE + PVINFO.magic, 4);

Deno.bench("mmio: 1000 register writes + reads through the trap path", { group: "mmio" }, () => {
  for (let i = 0; i < 500; i++) {
    gate.guestMmioWrite(v.id, bar0 + FORCEWAKE_RENDER_GEN9, 4, 0x00010001);
    gate.guestMmioRead(v.id, bar0 + 0x9100, 4);
  }
  gate.takeCost();
});

const ap = v.res.aperture.base / 4096;
let gfn = 0x1000;
Deno.bench("ggtt: 1000 entry writes through the GTT window (8 bytes, map + unmap)", {
  group: "ggtt",
}, () => {
  for (let i = 0; i < 1000; i++) {
    gate.guestMmioWrite(v.id, bar0 + GTT_OFFSET + (ap + (i & 1023)) * 8, 8, gfn * 4096 + 3);
    gfn = gfn >= 0x8000 ? 0x1000 : gfn + 1;
  }
  gate.takeCost();
});

// A 4-level table whose PT is full: PML4 0x100 -> PDP 0x101 -> PD 0x102 -> PT 0x103.
const put = (g: number, i: number, val: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(val), true);
  mem.write(g * 4096 + i * 8, b);
};
put(0x100, 0, 0x101 * 4096 + 3);
put(0x101, 0, 0x102 * 4096 + 3);
put(0x102, 0, 0x103 * 4096 + 3);
for (let i = 0; i < 512; i++) put(0x103, i, (0x2000 + i) * 4096 + 3);
const pv = (off: number, val: number) =>
  r.gvt.emulateMmioWrite(v.id, VGT_PVINFO_PAGE + off, 4, val);
pv(PVINFO.pdp, 0x100 * 4096);
pv(PVINFO.pdp + 4, 0);
Deno.bench("ppgtt: shadow + destroy a 4-level table with one full PT page (512 PTEs)", {
  group: "ppgtt",
}, () => {
  pv(PVINFO.g2vNotify, VGT_G2V_PPGTT_L4_PAGE_TABLE_CREATE);
  pv(PVINFO.g2vNotify, VGT_G2V_PPGTT_L4_PAGE_TABLE_DESTROY);
  gate.takeCost();
});

// Scanner: a ring that starts a GGTT batch of a realistic render mix.
const base = v.res.aperture.base;
const mix: MixCounts = { draw: 200, blit: 0, media: 4, compute: 4, store: 16, lri: 16 };
const dw = batchLength(mix, RCS);
const pages = Math.ceil((dw * 4) / 4096);
for (let p = 0; p < pages + 1; p++) {
  gate.guestMmioWrite(v.id, bar0 + GTT_OFFSET + (ap + 2048 + p) * 8, 8, (0x9000 + p) * 4096 + 3);
}
const bb = new Uint32Array(pages * 1024);
buildBatch(
  mix,
  RCS,
  {
    storeAddr: (i) => base + 0x100 + 8 * i,
    storeValue: (i) => i,
    ggtt: true,
    blitSrc: 0,
    blitDst: 0,
    blitPitch: 4096,
    blitWidth: 16,
    blitHeight: 16,
  },
  bb,
  0,
);
mem.write(0x9001 * 4096, new Uint8Array(bb.buffer));
const ring = new Uint32Array(1024);
let n = emitBatchBufferStart(ring, 0, base + (2049) * 4096, false);
n = emitNoop(ring, n);
mem.write(0x9000 * 4096, new Uint8Array(ring.buffer, 0, n * 4));
const res = new ScanResult();
Deno.bench(`scanner: ring + shadowed render batch (${dw} dwords)`, { group: "scan" }, () => {
  r.gvt.scanner.scanRing(v, RCS, null, base + 2048 * 4096, 4096, 0, n * 4, res);
  if (res.violation >= 0) throw new Error(res.detail);
  r.gvt.scanner.release(res);
  gate.takeCost();
});

// A booted guest whose render batch completed: its shadow context, as the dispatcher copies it
// back after every render workload (engine pages nobody wrote, then the ring context).
const cg = await gvtRig({ host: { invariants: false } });
const guest = addGuest(cg, { vm: "ctx" }, { engines: [RCS] });
guest.drv.boot();
cg.sim.runFor(5 * MS);
guest.drv.submitBatch(RCS, mixOf({ draw: 2 }));
cg.sim.runFor(20 * MS);
const sc = guest.v.shadowContexts, img = sc.images[RCS]!;
Deno.bench(
  `shadow context: copy back a render context (${img.pages} pages)`,
  { group: "ctx" },
  () => {
    updateGuestContext(
      cg.gate,
      cg.gpu.memory,
      guest.v,
      img,
      sc.lastLrca[RCS],
      sc.lastGpa[RCS],
      img.pages,
      64,
    );
    cg.gate.takeCost();
  },
);
