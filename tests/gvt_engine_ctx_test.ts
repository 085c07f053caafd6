/**
 * The engine context of a guest's context image and its workaround batches, as upstream
 * audits them (Linux drivers/gpu/drm/i915/gvt/): the whitelist update from the default
 * context images at the first vGPU's creation, the scan of each engine context copied into
 * a shadow context, and the range checks of the render context's workaround batch pointers
 * at workload creation. Each test is named after the upstream function whose rule it checks
 * and is driven through the guest driver's own submissions and the vGPU's MMIO.
 */
import assert from "node:assert/strict";
import { MS } from "../core/sim/sim.ts";
import {
  CTX_BB_PER_CTX_PTR,
  CTX_RCS_INDIRECT_CTX,
  ctxValueOffset,
  ENGINE_CONTEXT_REGS,
  RING_CTX_DWORDS,
} from "../core/hw/context.ts";
import { emitBatchBufferEnd, emitLri } from "../core/cmd/encode.ts";
import { VIOLATION_KINDS } from "../core/gvt/counters.ts";
import { ScanResult } from "../core/gvt/scanner.ts";
import type { PlatformId } from "../core/hw/platform.ts";
import { registerOffset } from "../core/hw/regdefs.ts";
import { GTT_OFFSET, RCS } from "../core/hw/regs.ts";
import { addGuest, addVgpu, gvtRig, mix } from "./gvt_util.ts";

const PAGE = 4096;
const VF_GUARDBAND = 0x83a4;
const violations = (v: { counters: { violations: Float64Array } }, kind: string) =>
  v.counters.violations[VIOLATION_KINDS.indexOf(kind as typeof VIOLATION_KINDS[number])];

/** A booted guest on the render engine that has run one batch, and helpers on its context. */
async function booted(gpu: PlatformId = "skylake") {
  const r = await gvtRig({ host: { gpu } });
  const { v, drv, mem } = addGuest(r, { vm: "g" }, { engines: [RCS] });
  drv.boot();
  r.sim.runFor(5 * MS);
  /** Submits one batch and runs for 20 ms. */
  const submit = () => {
    drv.submitBatch(RCS, mix({ draw: 2 }));
    r.sim.runFor(20 * MS);
  };
  submit();
  assert.equal(drv.inFlight(RCS), 0, "the first batch completed");
  const lrca = drv.contextGma(RCS);
  /** Guest-physical address of page `p` of the guest context. */
  const gpa = (p: number) => v.ggtt.gmaToGfn(lrca + p * PAGE) * PAGE;
  const put = (at: number, x: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, x >>> 0, true);
    mem.write(at, b);
  };
  /** Rewrites the guest GGTT entry of the context's first page (invalidates `last_ctx`). */
  const rewriteLrcaEntry = () => {
    const at = GTT_OFFSET + (lrca / PAGE) * 8;
    r.gvt.emulateMmioWrite(v.id, at, 8, r.gvt.emulateMmioRead(v.id, at, 8));
  };
  return { r, v, drv, gpa, put, submit, rewriteLrcaEntry };
}

Deno.test("cmd_parser.c intel_gvt_update_reg_whitelist: the first vGPU's creation whitelists the registers of the default context images (VF_GUARDBAND on gen9)", async () => {
  for (const gpu of ["skylake", "broadwell"] as const) {
    const r = await gvtRig({ host: { gpu } });
    const table = r.gvt.mmio.table;
    assert.equal(table.cmdAccessible(VF_GUARDBAND), gpu === "broadwell", `${gpu}: before`);
    assert.equal(r.gvt.regWhitelistUpdated, false);
    const v = addVgpu(r, { vm: "a" });
    assert.equal(r.gvt.regWhitelistUpdated, true, "gvt->is_reg_whitelist_updated");
    const gen = r.gpu.config.platform.gen;
    for (const [name, offset] of ENGINE_CONTEXT_REGS[gen]) {
      assert.ok(table.cmdAccessible(offset), `${gpu}: ${name}`);
    }
    // The scanner now accepts an LRI to it in a guest ring (cmd_reg_handler).
    const gfn = 0x300, base = v.res.aperture.base;
    r.gvt.emulateMmioWrite(v.id, GTT_OFFSET + (base / PAGE) * 8, 8, gfn * PAGE + 3);
    const ring = new Uint32Array(4);
    emitLri(ring, 0, VF_GUARDBAND, 0x10001);
    r.mems.get(v.id)!.write(gfn * PAGE, new Uint8Array(ring.buffer));
    const res = new ScanResult();
    r.gvt.scanner.scanRing(v, RCS, null, base, PAGE, 0, 16, res);
    assert.equal(res.violation, -1, `${gpu}: ${res.detail}`);
    r.gvt.scanner.release(res);
  }
});

Deno.test("cmd_parser.c intel_gvt_scan_engine_context: a copied engine context is scanned from dword 0x50 to its MI_BATCH_BUFFER_END", async () => {
  for (const gpu of ["skylake", "broadwell"] as const) {
    const { v, submit, rewriteLrcaEntry } = await booted(gpu);
    const dwords = () => v.counters.dwordsScanned[RCS];
    let before = dwords();
    submit(); // the same context: copy skipped, only the ring scanned
    const ringOnly = dwords() - before;
    rewriteLrcaEntry();
    before = dwords();
    submit();
    // one LRI header, a (register, value) pair per register, MI_BATCH_BUFFER_END
    const regs = ENGINE_CONTEXT_REGS[gpu === "broadwell" ? 8 : 9].length;
    assert.equal(dwords() - before - ringOnly, 1 + 2 * regs + 1, gpu);
    assert.equal(v.failsafe, false);
  }
});

Deno.test("cmd_parser.c intel_gvt_scan_engine_context: an engine context loading a register that is not whitelisted fails the workload, -EBADRQC: failsafe", async () => {
  const { r, v, gpa, put, submit, rewriteLrcaEntry } = await booted();
  const hwsPga = registerOffset("RCS_HWS_PGA");
  assert.equal(r.gvt.mmio.table.cmdAccessible(hwsPga), false);
  put(gpa(1) + 4 * (RING_CTX_DWORDS + 1), hwsPga); // the LRI's first register
  rewriteLrcaEntry();
  submit();
  assert.equal(v.failsafe, true);
  assert.equal(violations(v, "register"), 1);
  assert.match(r.gvt.failsafeLog[0].detail, /not whitelisted/);
  assert.equal(v.shadowContexts.lastValid[RCS], 0, "last_ctx stays invalid");
});

Deno.test("scheduler.c populate_shadow_context: an unchanged context (last_ctx valid) is neither copied nor scanned", async () => {
  const { v, gpa, put, submit } = await booted();
  put(gpa(1) + 4 * (RING_CTX_DWORDS + 1), registerOffset("RCS_HWS_PGA"));
  submit();
  assert.equal(v.failsafe, false, "the guest's change is not seen while the copy is skipped");
  assert.equal(v.counters.ctxCopiesSkipped, 1);
});

Deno.test("scheduler.c intel_vgpu_create_workload: a workaround batch pointer outside the slices refuses the element, -EINVAL: no failsafe", async () => {
  for (
    const [slot, value] of [[CTX_RCS_INDIRECT_CTX, 0xfff0_0000 | 2], [
      CTX_BB_PER_CTX_PTR,
      0xfff0_0001,
    ]]
  ) {
    const { v, gpa, put, submit, drv } = await booted();
    const created = v.counters.workloadsCreated;
    put(gpa(1) + ctxValueOffset(slot), value);
    submit();
    assert.equal(violations(v, "wa_ctx_range"), 1, `slot ${slot}`);
    assert.equal(v.counters.workloadsCreated, created, "no workload");
    assert.equal(v.failsafe, false);
    assert.equal(drv.inFlight(RCS), 1, "the guest's request never completes");
  }
});

Deno.test("scheduler.c intel_vgpu_create_workload: workaround batch pointers inside the slices (or absent, or invalid) are accepted", async () => {
  const { v, gpa, put, submit, drv } = await booted();
  const inside = v.res.aperture.base + 0x10000;
  put(gpa(1) + ctxValueOffset(CTX_RCS_INDIRECT_CTX), inside | 1);
  put(gpa(1) + ctxValueOffset(CTX_BB_PER_CTX_PTR), 0xfff0_0000); // valid bit clear: not checked
  submit();
  assert.equal(violations(v, "wa_ctx_range"), 0);
  assert.equal(drv.inFlight(RCS), 0);
});

/** Points the guest render context's workaround batches at pages of its own image. */
async function withWaCtx(indirect: (o: Uint32Array) => number, perCtx: (o: Uint32Array) => number) {
  const b = await booted();
  const { drv, gpa, put, r } = b;
  const lrca = drv.contextGma(RCS), mem = r.mems.get(b.v.id)!;
  const write = (page: number, build: (o: Uint32Array) => number) => {
    const o = new Uint32Array(32);
    const n = build(o);
    mem.write(gpa(page), new Uint8Array(o.buffer, 0, n * 4));
  };
  write(10, indirect); // one cache line (16 dwords)
  write(11, perCtx);
  put(gpa(1) + ctxValueOffset(CTX_RCS_INDIRECT_CTX), (lrca + 10 * PAGE) | 1);
  put(gpa(1) + ctxValueOffset(CTX_BB_PER_CTX_PTR), (lrca + 11 * PAGE) | 1);
  return { ...b, lrca };
}

Deno.test("cmd_parser.c intel_gvt_scan_and_shadow_wa_ctx: the indirect-context batch is shadowed and scanned, the per-context batch followed from it", async () => {
  const lri = (reg: number) => (o: Uint32Array) => emitBatchBufferEnd(o, emitLri(o, 0, reg, 1));
  const { r, v, submit, drv, lrca } = await withWaCtx(lri(0x7004), lri(0x7008));
  const shadowed = v.counters.batchesShadowed, scanned = v.counters.dwordsScanned[RCS];
  let seen: { indirect: number; perCtx: number } | null = null;
  const orig = r.gvt.scanner.scanWaCtx.bind(r.gvt.scanner);
  r.gvt.scanner.scanWaCtx = (...a: Parameters<typeof orig>) => {
    const ok = orig(...a);
    const res = a[5];
    seen = { indirect: res.waCtx!.gma, perCtx: res.perCtxShadowGma };
    return ok;
  };
  const used = r.gvt.hostGm.inUse;
  submit();
  assert.equal(drv.inFlight(RCS), 0, "completed");
  assert.equal(v.failsafe, false);
  assert.equal(v.counters.batchesShadowed - shadowed, 1, "the per-context batch");
  assert.ok(seen !== null, "scanned at dispatch");
  const { indirect, perCtx } = seen!;
  assert.ok(!v.gmaInSlices(indirect, 64) && !v.gmaInSlices(perCtx, 64), "host shadows");
  assert.notEqual(indirect, lrca + 10 * PAGE);
  // update_wa_ctx_2_shadow_ctx: the shadow context points at the shadows, low bits kept
  const state = r.gpu.memory.page(v.shadowContexts.images[RCS]!.mfns[1]);
  assert.equal(state[CTX_RCS_INDIRECT_CTX + 1], (indirect | 1) >>> 0);
  assert.equal(state[CTX_BB_PER_CTX_PTR + 1], (perCtx | 1) >>> 0);
  // 16 dwords of the indirect batch + the 3-dword start appended, then the per-context batch
  const ringDwords = v.counters.dwordsScanned[RCS] - scanned - 16 - 3 - 4;
  assert.ok(ringDwords > 0, `${ringDwords}`);
  assert.equal(r.gvt.hostGm.inUse, used, "the shadows are freed with the workload");
});

Deno.test("cmd_parser.c scan_wa_ctx: a non-whitelisted register in a workaround batch fails the workload, -EBADRQC: failsafe", async () => {
  const bad = registerOffset("RCS_HWS_PGA");
  for (const where of ["indirect", "per-context"]) {
    const lri = (reg: number) => (o: Uint32Array) => emitBatchBufferEnd(o, emitLri(o, 0, reg, 1));
    const ok = lri(0x7004);
    const { r, v, submit } = await withWaCtx(
      where === "indirect" ? lri(bad) : ok,
      where === "indirect" ? ok : lri(bad),
    );
    submit();
    assert.equal(v.failsafe, true, where);
    assert.equal(violations(v, "register"), 1, where);
    assert.match(r.gvt.failsafeLog[0].detail, /not whitelisted/);
  }
});

Deno.test("scheduler.c intel_vgpu_create_workload: the first workload of an empty queue is scanned and shadowed at its creation, the others at dispatch", async () => {
  const { r, v, drv } = await booted();
  drv.submitBatch(RCS, mix({ draw: 2 }));
  drv.submitBatch(RCS, mix({ draw: 2 }));
  const q = v.queues[RCS];
  assert.equal(r.gvt.dispatcher.running[RCS], null, "nothing dispatched yet");
  assert.deepEqual(q.map((w) => w.shadowed), [true, false]);
  assert.ok(q[0].scan.ring !== null, "its shadow ring exists already");
  r.sim.runFor(1000);
  assert.equal(r.gvt.dispatcher.running[RCS]!.shadowed, true);
  assert.equal(q.length, 1);
  assert.equal(q[0].shadowed, false, "queued behind a running workload: scanned at dispatch");
  const used = r.gvt.hostGm.inUse;
  r.sim.runFor(40 * MS);
  assert.equal(drv.inFlight(RCS), 0);
  assert.ok(r.gvt.hostGm.inUse < used, "shadows freed at completion");
});

Deno.test("scheduler.c intel_vgpu_create_workload: a rejected command in the first workload enters failsafe at the ELSP write (-EBADRQC), nothing is queued", async () => {
  const { r, v, drv } = await booted();
  const used = r.gvt.hostGm.inUse, created = v.counters.workloadsCreated;
  drv.misbehave("rejected_command", 1); // MI_UPDATE_GTT in a privileged batch
  assert.equal(v.failsafe, true, "before any simulated time passed");
  assert.equal(v.queues[RCS].length, 0);
  assert.equal(v.counters.workloadsCreated, created + 1);
  assert.equal(violations(v, "rejected_command"), 1);
  assert.equal(r.gvt.hostGm.inUse, used, "its shadows were freed");
});

Deno.test("scheduler.c intel_vgpu_clean_workloads: queued workloads shadowed at creation free their shadows when a reset drops them", async () => {
  const { r, v, drv } = await booted();
  const used = r.gvt.hostGm.inUse;
  drv.submitBatch(RCS, mix({ draw: 2 }));
  assert.ok(r.gvt.hostGm.inUse > used, "the shadow ring and batch of the queued workload");
  r.gvt.resetVgpu(v.id, "dmlr");
  assert.equal(v.queues[RCS].length, 0);
  assert.equal(r.gvt.hostGm.inUse, used);
});

Deno.test("scheduler.c dispatch_workload / prepare_workload: the PPGTT shadow is pinned after the scan and the context copy", async () => {
  const { r, v, drv, rewriteLrcaEntry } = await booted();
  const d = r.gvt.dispatcher, sc = r.gvt.scanner;
  const pinnedAt: string[] = [];
  const note = (what: string) => {
    const w = d.running[RCS];
    if (w !== null) pinnedAt.push(`${what}:${w.mm !== null && w.mmPinned}`);
  };
  const scanRing = sc.scanRing.bind(sc), scanCtx = sc.scanEngineContext.bind(sc);
  sc.scanRing = (...a: Parameters<typeof scanRing>) => (note("ring"), scanRing(...a));
  sc.scanEngineContext = (...a: Parameters<typeof scanCtx>) => (note("ctx"), scanCtx(...a));
  drv.submitBatch(RCS, mix({ draw: 2 })); // scanned at creation (nothing running)
  drv.submitBatch(RCS, mix({ draw: 2 })); // queued: scanned at dispatch
  rewriteLrcaEntry(); // the first one's dispatch copies (and scans) the engine context again
  r.sim.runFor(40 * MS);
  assert.equal(drv.inFlight(RCS), 0);
  // first workload: its engine context scanned at dispatch; second: its ring at dispatch
  assert.deepEqual(pinnedAt, ["ctx:false", "ring:false"]);
  assert.ok(v.ppgtt!.mms.every((mm) => mm.pin === 0), "unpinned after completion");
});

Deno.test("scheduler.c intel_vgpu_clean_workloads -> intel_vgpu_destroy_workload: a queued workload dropped by an engine reset puts its PPGTT mm reference", async () => {
  const { r, v, drv } = await booted();
  const mm = v.ppgtt!.mms[0];
  const refs = mm.refcount;
  drv.submitBatch(RCS, mix({ draw: 2 }));
  drv.submitBatch(RCS, mix({ draw: 2 }));
  assert.equal(mm.refcount, refs + 2, "each workload holds a reference");
  r.gvt.resetVgpu(v.id, 1 << RCS); // a per-engine reset keeps the PPGTT space
  assert.equal(v.queues[RCS].length, 0);
  assert.equal(mm.refcount, refs, "both dropped workloads put theirs");
  assert.ok(v.ppgtt!.mms.includes(mm));
});
