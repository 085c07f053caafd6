/**
 * One test per scanner, submission and failsafe rule, each named after the upstream
 * function (Linux drivers/gpu/drm/i915/gvt/) whose behaviour it checks, on the platforms
 * where the rule differs.
 */
import { ENGINES } from "../core/hw/engines.ts";
import assert from "node:assert/strict";
import { addVgpu, gvtRig, MiB } from "./gvt_util.ts";
import {
  emitAtomic,
  emitBatchBufferEnd,
  emitFlushDw,
  emitLoadRegisterMem,
  emitLoadRegisterReg,
  emitLri,
  emitMemToMem,
  emitNoop,
  emitPipeControl,
  emitStoreRegisterMem,
  PIPE_CONTROL_WRITE_TIMESTAMP,
} from "../core/cmd/encode.ts";
import {
  PIPE_CONTROL_CS_STALL,
  PIPE_CONTROL_GLOBAL_GTT,
  PIPE_CONTROL_MMIO_WRITE_BIT,
} from "../core/cmd/fields.ts";
import { ScanResult } from "../core/gvt/scanner.ts";
import { VIOLATION_KINDS, violationIsFatal } from "../core/gvt/counters.ts";
import { registerOffset } from "../core/hw/regdefs.ts";
import { getField, maskedEnable } from "../core/hw/bits.ts";
import type { PlatformId } from "../core/hw/platform.ts";
import {
  BCS,
  csGpr,
  FENCE_REG_GEN6_LO,
  GEN8_CTX_PRIVILEGE,
  GEN8_CTX_VALID,
  GFX_PPGTT_ENABLE,
  GFX_RUN_LIST_ENABLE,
  GTT_OFFSET,
  LEGACY_64B_CONTEXT,
  RCS,
  RING_ELSP,
  RING_EXECLIST_STATUS_HI,
  RING_EXECLIST_STATUS_LO,
  RING_MODE,
  VGT_PVINFO_PAGE,
} from "../core/hw/regs.ts";
import { writeContextRing } from "../core/hw/context.ts";
import { header, ID } from "../core/cmd/table.ts";
import { csbPtrOffset, csbReadPtr, csbWritePtr } from "../core/hw/csb.ts";
import { emulateScheduleIn } from "../core/gvt/execlist.ts";
import { EXECLIST_STATUS_FIELDS } from "../core/hw/registers/ring.ts";

const RING_GFN = 0x300, CTX_GFN = 0x320;
const PLATFORMS: PlatformId[] = ["skylake", "kabylake", "coffeelake", "broadwell"];

async function rig(gpu: PlatformId = "skylake") {
  const r = await gvtRig({ host: { gpu } });
  const v = addVgpu(r, { vm: "a", memory: 64 * MiB });
  const mem = r.mems.get(v.id)!;
  const base = v.res.aperture.base;
  const map = (gma: number, gfn: number) =>
    r.gvt.emulateMmioWrite(v.id, GTT_OFFSET + (gma / 4096) * 8, 8, gfn * 4096 + 3);
  map(base, RING_GFN);
  /** Scans the stream `build` writes as a ring on `engine`; the verdict's kind or "ok". */
  const scan = (build: (o: Uint32Array) => number, engine = RCS) => {
    const out = new Uint32Array(256);
    let n = build(out);
    if (n & 1) n = emitNoop(out, n);
    mem.write(RING_GFN * 4096, new Uint8Array(out.buffer, 0, n * 4));
    const res = new ScanResult();
    r.gvt.scanner.scanRing(v, engine, null, base, 4096, 0, n * 4, res);
    const kind = res.violation < 0 ? "ok" : VIOLATION_KINDS[res.violation];
    r.gvt.scanner.release(res);
    return { kind, detail: res.detail, rule: res.rule };
  };
  const pv = () => r.gvt.emulateMmioRead(v.id, VGT_PVINFO_PAGE, 4);
  return { r, v, mem, base, map, scan, pv };
}

Deno.test("cmd_parser.c cmd_reg_handler: LRI only to the platform's F_CMD_ACCESS registers (CS_GPR: Broxton only)", async () => {
  for (const p of PLATFORMS) {
    const { scan } = await rig(p);
    const gpr = scan((o) => emitLri(o, 0, csGpr(RCS, 0), 1));
    assert.equal(gpr.kind, "register", `${p}: CS_GPR`);
    assert.equal(gpr.rule, "cmd_parser.c cmd_reg_handler");
    assert.match(gpr.detail, /not whitelisted/);
    for (const reg of [0x209c, 0x229c, 0x2580, 0x7300, 0xb118]) {
      assert.equal(scan((o) => emitLri(o, 0, reg, 0x10000)).kind, "ok", `${p}: ${reg}`);
    }
    const mocs = scan((o) => emitLri(o, 0, 0xc800, 1)).kind;
    const l3 = scan((o) => emitLri(o, 0, 0xb020, 1)).kind;
    assert.deepEqual([mocs, l3], p === "broadwell" ? ["register", "register"] : ["ok", "ok"]);
    const outside = scan((o) => emitLri(o, 0, 0x7ffff0, 1));
    assert.match(outside.detail, /outside of MMIO/);
  }
});

Deno.test("cmd_parser.c cmd_reg_handler: SRM/LRM only GEN8_L3SQCREG4 and 0x21f0 (+ INSTPM on BDW), -EPERM: no failsafe", async () => {
  for (const p of PLATFORMS) {
    const { scan, base } = await rig(p);
    const at = base + 0x100;
    for (const reg of [0xb118, 0x21f0]) {
      assert.equal(scan((o) => emitStoreRegisterMem(o, 0, reg, at, true)).kind, "ok");
      assert.equal(scan((o) => emitLoadRegisterMem(o, 0, reg, at, true)).kind, "ok");
    }
    const instpm = registerOffset("RCS_INSTPM");
    const srm = scan((o) => emitStoreRegisterMem(o, 0, instpm, at, true));
    assert.equal(srm.kind, p === "broadwell" ? "ok" : "register_op", `${p}: SRM INSTPM`);
    const cm1 = scan((o) => emitLoadRegisterMem(o, 0, 0x7004, at, true));
    assert.equal(cm1.kind, "register_op", "whitelisted for LRI, not for LRM");
    assert.equal(violationIsFatal("register_op"), false);
    const far = scan((o) => emitStoreRegisterMem(o, 0, 0xb118, 0x1000, true));
    assert.equal(far.kind, "address", "the GGTT address is audited (cmd_handler_srm)");
  }
});

Deno.test("cmd_parser.c cmd_reg_handler: LRR only 0x215c on Broadwell", async () => {
  for (const p of PLATFORMS) {
    const { scan } = await rig(p);
    const lrr = scan((o) => emitLoadRegisterReg(o, 0, 0x215c, 0x215c));
    assert.equal(lrr.kind, p === "broadwell" ? "ok" : "register_op", p);
    assert.equal(scan((o) => emitLoadRegisterReg(o, 0, 0x7004, 0x7004)).kind, "register_op");
  }
});

Deno.test("cmd_parser.c cmd_handler_lri / cmd_handler_lrm: register bits 22:18 on Broadwell (cmd_reg_inhibit)", async () => {
  const reg = 0x7004 | (1 << 18);
  const bdw = await rig("broadwell");
  const b = bdw.scan((o) => emitLri(o, 0, reg, 1), BCS);
  assert.equal(b.kind, "register");
  assert.equal(b.rule, "cmd_parser.c cmd_handler_lri", "refused before the whitelist");
  assert.equal(bdw.scan((o) => emitLri(o, 0, reg, 1), RCS).rule, "cmd_parser.c cmd_reg_handler");
  const lrm = bdw.scan((o) => emitLoadRegisterMem(o, 0, reg, bdw.base, true));
  assert.equal(lrm.rule, "cmd_parser.c cmd_handler_lrm");
  const skl = await rig("skylake");
  assert.equal(skl.scan((o) => emitLri(o, 0, reg, 1), BCS).rule, "cmd_parser.c cmd_reg_handler");
});

Deno.test("cmd_parser.c cmd_handler_mi_op_2e: MI_OP_2E (MEM_TO_MEM) is rejected (unexpected_cmd, -EBADRQC)", async () => {
  const { scan, base } = await rig();
  const r = scan((o) => emitMemToMem(o, 0, base, base + 8));
  assert.equal(r.kind, "rejected_command");
  assert.equal(r.rule, "cmd_parser.c unexpected_cmd");
  assert.equal(violationIsFatal("rejected_command"), true);
});

Deno.test("cmd_parser.c cmd_handler_mi_op_2f: MI_ATOMIC with the GGTT bit is address-audited", async () => {
  const { scan, base } = await rig();
  assert.equal(scan((o) => emitAtomic(o, 0, base + 0x40, 1, true)).kind, "ok");
  const out = scan((o) => emitAtomic(o, 0, 0x1000, 1, true));
  assert.equal(out.kind, "address");
  assert.equal(out.rule, "cmd_parser.c cmd_address_audit");
  assert.equal(scan((o) => emitAtomic(o, 0, 0x1000, 1, false)).kind, "ok", "PPGTT: not audited");
});

Deno.test("cmd_parser.c cmd_handler_pipe_control: the address is audited only for post-sync 1", async () => {
  const { scan } = await rig();
  const host = 0x1000; // the host's aperture
  assert.equal(scan((o) => emitPipeControl(o, 0, 0, host, 1, true, false)).kind, "address");
  const ts = scan((o) => {
    const n = emitPipeControl(o, 0, 0, host, 0, true, false);
    o[1] =
      (PIPE_CONTROL_CS_STALL.mask | PIPE_CONTROL_WRITE_TIMESTAMP | PIPE_CONTROL_GLOBAL_GTT.mask) >>>
      0;
    return n;
  });
  assert.equal(ts.kind, "ok", "a timestamp post-sync write is not audited");
  const reg = scan((o) => {
    const n = emitPipeControl(o, 0, 0, -1, 0, false, false);
    o[1] |= PIPE_CONTROL_MMIO_WRITE_BIT.mask; // register post-sync write
    o[2] = 0x44200;
    return n;
  });
  assert.equal(reg.kind, "register");
});

Deno.test("cmd_parser.c cmd_handler_mi_flush_dw: post-sync GGTT writes audited; store-index offsets stay in the page", async () => {
  const { scan, base } = await rig();
  assert.equal(scan((o) => emitFlushDw(o, 0, base + 8, 1, true, false)).kind, "ok");
  assert.equal(scan((o) => emitFlushDw(o, 0, 0x1000, 1, true, false)).kind, "address");
  const idx = scan((o) => {
    const n = emitFlushDw(o, 0, 0x80, 1, true, false);
    o[0] |= 1 << 21; // store-data index: an offset into the status page
    return n;
  });
  assert.equal(idx.kind, "ok");
});

/** Writes a ring context for the ELSP rules: an LRCA whose ring starts at `ringStart`. */
async function elspRig(gpu: PlatformId = "skylake") {
  const x = await rig(gpu);
  const { r, v, mem, base, map, pv } = x;
  const lrca = base + 0x10000;
  for (let p = 0; p < 23; p++) map(lrca + p * 4096, CTX_GFN + p);
  const ctx = (ringStart: number) => {
    const w = new Uint32Array(1024);
    writeContextRing(w, ringStart, 4096, 0, 0);
    mem.write((CTX_GFN + 1) * 4096, new Uint8Array(w.buffer));
  };
  const elsp = (desc: number) => {
    const e = ENGINES[RCS].mmioBase + RING_ELSP;
    for (const d of [0, 0, 1, desc]) r.gvt.emulateMmioWrite(v.id, e, 4, d);
  };
  pv();
  r.gvt.emulateMmioWrite(
    v.id,
    ENGINES[RCS].mmioBase + RING_MODE,
    4,
    maskedEnable(GFX_RUN_LIST_ENABLE),
  );
  const desc = (lrca | GEN8_CTX_VALID | GEN8_CTX_PRIVILEGE | (LEGACY_64B_CONTEXT << 3)) >>> 0;
  return { ...x, ctx, elsp, desc, lrca };
}

Deno.test("execlist.c intel_vgpu_submit_execlist: a descriptor without the privilege bit creates no workload, no failsafe", async () => {
  const { v, ctx, elsp, desc, base } = await elspRig();
  ctx(base);
  elsp((desc & ~GEN8_CTX_PRIVILEGE) >>> 0);
  assert.equal(v.queues[RCS].length + v.counters.workloadsCreated, 0);
  assert.equal(v.counters.violations[VIOLATION_KINDS.indexOf("invalid_elsp")], 1);
  assert.equal(v.failsafe, false);
  elsp(desc);
  assert.equal(v.counters.workloadsCreated, 1, "with the bit: a workload");
});

Deno.test("scheduler.c intel_vgpu_create_workload: a ring outside the slices fails that submission only", async () => {
  const { v, ctx, elsp, desc } = await elspRig();
  ctx(0x1000);
  elsp(desc);
  assert.equal(v.counters.violations[VIOLATION_KINDS.indexOf("ring_range")], 1);
  assert.equal(v.counters.workloadsCreated, 0);
  assert.equal(v.failsafe, false);
});

Deno.test("scheduler.c workload_thread: a bad command fails safe (-EBADRQC), a refused SRM fails the engine's queue only (-EPERM)", async () => {
  const { r, v } = await rig();
  r.gvt.workloadFailed(v, RCS, "register_op", "SRM to a register it may not read");
  assert.equal(v.failsafe, false);
  r.gvt.workloadFailed(v, RCS, "rejected_command", "MI_OP_2E");
  assert.equal(v.failsafeReason, "guest_error");
});

Deno.test("handlers.c ring_mode_mmio_write: forbidden bits per platform, PPGTT or execlists before PVINFO, start of scheduling", async () => {
  for (const p of PLATFORMS) {
    const a = await rig(p);
    a.pv();
    a.r.gvt.emulateMmioWrite(a.v.id, ENGINES[RCS].mmioBase + RING_MODE, 4, maskedEnable(1 << 0));
    assert.equal(a.v.failsafeReason, "unsupported_guest", `${p}: bit 0`);
    const b = await rig(p);
    b.pv();
    b.r.gvt.emulateMmioWrite(b.v.id, ENGINES[RCS].mmioBase + RING_MODE, 4, maskedEnable(1 << 1));
    assert.equal(b.v.failsafe, p === "coffeelake", `${p}: bit 1 only on Coffee Lake`);
  }
  const c = await rig();
  c.r.gvt.emulateMmioWrite(
    c.v.id,
    ENGINES[RCS].mmioBase + RING_MODE,
    4,
    maskedEnable(GFX_PPGTT_ENABLE),
  );
  assert.equal(c.v.failsafeReason, "unsupported_guest", "PPGTT enabled before PVINFO");
  const d = await rig();
  assert.equal(d.v.sched.active, false, "not scheduled at creation");
  d.pv();
  d.r.gvt.emulateMmioWrite(
    d.v.id,
    ENGINES[RCS].mmioBase + RING_MODE,
    4,
    maskedEnable(GFX_RUN_LIST_ENABLE),
  );
  assert.equal(d.v.sched.active, true, "intel_vgpu_start_schedule at the execlist enable");
});

Deno.test("handlers.c csfe_chicken1_mmio_write: enabling bit 3 or 4 fails safe on gen9", async () => {
  const { r, v, pv } = await rig();
  pv();
  const csfe = registerOffset("RCS_CSFE_CHICKEN1");
  r.gvt.emulateMmioWrite(v.id, csfe, 4, maskedEnable(1 << 0));
  assert.equal(v.failsafe, false);
  r.gvt.emulateMmioWrite(v.id, csfe, 4, maskedEnable(1 << 4));
  assert.equal(v.failsafeReason, "unsupported_guest");
  const bdw = await rig("broadwell");
  bdw.r.gvt.emulateMmioWrite(bdw.v.id, csfe, 4, maskedEnable(1 << 4));
  assert.equal(bdw.v.failsafe, false, "no such register on Broadwell");
});

Deno.test("handlers.c sanitize_fence_mmio_access: only an out-of-range fence before PVINFO fails safe", async () => {
  const { r, v } = await rig();
  r.gvt.emulateMmioWrite(v.id, FENCE_REG_GEN6_LO + 8, 4, 5);
  assert.equal(v.failsafe, false, "fence 1 of 4 before PVINFO");
  r.gvt.emulateMmioRead(v.id, FENCE_REG_GEN6_LO + 8 * 9, 4);
  assert.equal(v.failsafeReason, "unsupported_guest");
});

Deno.test("gtt.c emulate_ggtt_mmio_read/write: only 4- and 8-byte GTT accesses", async () => {
  const { r, v, base } = await rig();
  const at = GTT_OFFSET + (base / 4096) * 8 + 8 * 16;
  r.gvt.emulateMmioWrite(v.id, at, 2, 0x1003);
  assert.equal(r.gvt.emulateMmioRead(v.id, at, 8), 0, "the 2-byte write was refused");
  assert.equal(r.gvt.emulateMmioRead(v.id, at, 1), 0);
  assert.equal(r.gvt.counters().vgpus.a["mmio_error.size"], 2);
  r.gvt.emulateMmioWrite(v.id, at, 8, 0x400 * 4096 + 1);
  assert.equal(r.gvt.emulateMmioRead(v.id, at, 4), 0x400 * 4096 + 1);
});

/** Reads the EDID over the DP AUX channel whose control register is at `ctl` (i2c over AUX). */
function readEdid(r: Awaited<ReturnType<typeof rig>>["r"], id: number, ctl: number) {
  const w = (off: number, x: number) => r.gvt.emulateMmioWrite(id, off, 4, x >>> 0);
  const send = (size: number) => w(ctl, (1 << 31) | (size << 20));
  w(ctl + 4, (0x4 << 28) | (0x50 << 8)); // i2c write, MOT, address 0x50: select the EDID
  send(3);
  const out: number[] = [];
  for (let i = 0; i < 128; i++) {
    w(ctl + 4, (0x5 << 28) | (0x50 << 8)); // i2c read, MOT, one byte
    send(4);
    out.push((r.gvt.emulateMmioRead(id, ctl + 4, 4) >>> 16) & 0xff);
  }
  w(ctl + 4, 0x1 << 28); // i2c read without MOT: stop
  send(3);
  return out;
}

Deno.test("handlers.c dp_aux_ch_ctl_mmio_write / edid.c: the EDID reads over the monitor's AUX channel (port D gen9, port B BDW)", async () => {
  const skl = await rig();
  const e = readEdid(skl.r, skl.v.id, registerOffset("DPD_AUX_CH_CTL"));
  assert.deepEqual(e, Array.from(skl.v.edid));
  assert.equal(e.reduce((s, x) => s + x, 0) % 256, 0, "checksum");
  const other = readEdid(skl.r, skl.v.id, registerOffset("DPB_AUX_CH_CTL"));
  assert.ok(other.every((x) => x === 0), "no monitor on port B on Skylake");
  const bdw = await rig("broadwell");
  const b = readEdid(bdw.r, bdw.v.id, registerOffset("PCH_DPB_AUX_CH_CTL"));
  assert.deepEqual(b, Array.from(bdw.v.edid));
});

Deno.test("cmd_parser.c cmd_parser_exec: an undecodable command is -EBADRQC (failsafe)", async () => {
  const { scan } = await rig();
  const r = scan((o) => ((o[0] = 0xe0000000), (o[1] = 0), 2));
  assert.equal(r.kind, "unknown_command");
  assert.equal(violationIsFatal("unknown_command"), true);
  assert.equal(scan((o) => ((o[0] = header(ID.MI_NOOP, 1)), emitBatchBufferEnd(o, 1))).kind, "ok");
});

Deno.test("execlist.c reset_execlist / emulate_execlist_status: CSB read pointer 0 after reset; status bit layout", async () => {
  const { r, v } = await rig();
  const ptr = r.gvt.emulateMmioRead(v.id, csbPtrOffset(RCS), 4);
  assert.deepEqual([csbReadPtr(ptr), csbWritePtr(ptr)], [0, 7]);
  const el = v.execlists[RCS];
  const desc = Uint32Array.from([GEN8_CTX_VALID | GEN8_CTX_PRIVILEGE, 0x11, 0, 0]);
  emulateScheduleIn(v.vreg, el, desc, null);
  const st = (off: number) => r.gvt.emulateMmioRead(v.id, ENGINES[RCS].mmioBase + off, 4);
  const f = EXECLIST_STATUS_FIELDS;
  let lo = st(RING_EXECLIST_STATUS_LO);
  assert.deepEqual(
    [f.el0Valid, f.el0Active, f.el1Valid, f.queueFull, f.writePointer].map((x) => getField(lo, x)),
    [1, 1, 0, 0, 1],
    "slot 0 running: element 0 valid and active, write pointer 1",
  );
  assert.equal(st(RING_EXECLIST_STATUS_HI), 0x11, "the running context's id");
  emulateScheduleIn(v.vreg, el, Uint32Array.from([desc[0], 0x22, 0, 0]), null);
  lo = st(RING_EXECLIST_STATUS_LO);
  assert.equal(getField(lo, f.queueFull), 1, "queue full is bit 2");
  assert.equal(getField(lo, f.el0Valid), 1, "bit 4 is element 0 valid, not queue full");
  const after = r.gvt.emulateMmioRead(v.id, csbPtrOffset(RCS), 4);
  assert.equal(csbWritePtr(after), 0, "the idle-to-active event went to entry 0");
});
