/**
 * Shadow contexts (core/gvt/shadow_ctx.ts): one per vGPU and engine, the engine-context copy
 * skipped for the context shadowed last, and what goes back at completion. Each test is named
 * after the upstream function (Linux drivers/gpu/drm/i915/gvt/) whose rule it checks, driven
 * through the guest driver's own submissions and the vGPU's MMIO, and through `gvtsim run`.
 */
import assert from "node:assert/strict";
import { MS } from "../core/sim/sim.ts";
import { maskedEnable } from "../core/hw/bits.ts";
import {
  CTX_BB_PER_CTX_PTR,
  CTX_CONTEXT_CONTROL,
  CTX_CTX_TIMESTAMP,
  CTX_PDP0_LDW,
  CTX_PDP0_UDW,
  CTX_PDP1_LDW,
  CTX_PDP1_UDW,
  CTX_PDP2_LDW,
  CTX_PDP2_UDW,
  CTX_PDP3_LDW,
  CTX_PDP3_UDW,
  CTX_RCS_INDIRECT_CTX,
  CTX_RING_BUFFER_CONTROL,
  CTX_RING_BUFFER_START,
  CTX_RING_HEAD,
  CTX_RING_TAIL,
  ctxValueOffset,
} from "../core/hw/context.ts";
import { CONTEXT_CONTROL_FIELDS } from "../core/hw/registers/ring.ts";
import { GTT_OFFSET, RCS } from "../core/hw/regs.ts";
import { addGuest, gvtRig, mix } from "./gvt_util.ts";
import { gvtsim } from "./cli_util.ts";
import { only, run as runMigration, scenario as migrationScenario } from "./migration_util.ts";

const PAGE = 4096;
const loc = { file: "t.gvt", line: 1, col: 1 };

/** A booted guest on the render engine that has run one batch, and helpers on its context. */
async function booted(vms = 1) {
  const r = await gvtRig();
  const guests = Array.from(
    { length: vms },
    (_, i) => addGuest(r, { vm: `g${i}` }, { engines: [RCS] }),
  );
  for (const g of guests) g.drv.boot();
  r.sim.runFor(5 * MS);
  const { v, drv, mem } = guests[0];
  /** Submits one batch and runs until it completed. */
  const run = () => {
    drv.submitBatch(RCS, mix({ draw: 2 }));
    r.sim.runFor(20 * MS);
    assert.equal(drv.inFlight(RCS), 0, "the batch completed");
  };
  run();
  const s = v.shadowContexts, lrca = s.lastLrca[RCS], img = s.images[RCS]!;
  /** Guest-physical address of page `p` of the guest context. */
  const gpa = (p: number) => v.ggtt.gmaToGfn(lrca + p * PAGE) * PAGE;
  const word = (at: number) => {
    const b = new Uint8Array(4);
    mem.read(at, b);
    return new DataView(b.buffer).getUint32(0, true);
  };
  const put = (at: number, x: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, x >>> 0, true);
    mem.write(at, b);
  };
  /** Word `i` of page `p` of the shadow image. */
  const shadow = (p: number, i: number) => r.gpu.memory.page(img.mfns[p])[i];
  /** Rewrites the guest GGTT entry of the context's first page with its own value. */
  const rewriteLrcaEntry = () => {
    const at = GTT_OFFSET + (lrca / PAGE) * 8;
    r.gvt.emulateMmioWrite(v.id, at, 8, r.gvt.emulateMmioRead(v.id, at, 8));
  };
  return { r, v, s, lrca, img, gpa, word, put, shadow, run, rewriteLrcaEntry, guests };
}

Deno.test("scheduler.c populate_shadow_context: engine pages copied for a new context, skipped while it is the last one shadowed", async () => {
  const { v, s, gpa, put, word, shadow, run } = await booted();
  assert.equal(v.counters.ctxCopies, 1, "the first workload copies the engine pages");
  assert.equal(v.counters.ctxCopiesSkipped, 0);
  assert.equal(s.lastValid[RCS], 1);
  assert.equal(s.lastGpa[RCS], gpa(1), "last_ctx.ring_context_gpa: the register-state page");
  put(gpa(2) + 16, 0xfeed);
  run();
  assert.equal(v.counters.ctxCopiesSkipped, 1, "same LRCA and ring-context GPA: skipped");
  assert.equal(v.counters.ctxCopies, 1);
  assert.equal(shadow(2, 4), 0, "the guest's change did not reach the shadow");
  assert.equal(word(gpa(2) + 16), 0, "update_guest_context wrote the stale shadow page back");
});

Deno.test("gtt.c intel_vgpu_emulate_ggtt_mmio_write: a write to the LRCA's entry invalidates last_ctx", async () => {
  const { v, s, gpa, put, shadow, run, rewriteLrcaEntry } = await booted();
  rewriteLrcaEntry();
  assert.equal(s.lastValid[RCS], 0);
  put(gpa(2) + 16, 0xfeed);
  run();
  assert.equal(v.counters.ctxCopies, 2, "copied again");
  assert.equal(shadow(2, 4), 0xfeed);
  assert.equal(s.lastValid[RCS], 1);
});

Deno.test("scheduler.c populate_shadow_context: a restore-inhibit context's engine pages are not copied, last_ctx.valid kept", async () => {
  const { v, s, gpa, put, word, shadow, run, rewriteLrcaEntry } = await booted();
  const ctl = gpa(1) + ctxValueOffset(CTX_CONTEXT_CONTROL);
  put(ctl, word(ctl) | maskedEnable(CONTEXT_CONTROL_FIELDS.engineRestoreInhibit.mask));
  rewriteLrcaEntry();
  put(gpa(2) + 16, 0xfeed);
  run();
  assert.equal(v.counters.ctxCopies, 1, "not copied");
  assert.equal(v.counters.ctxCopiesSkipped, 1);
  assert.equal(shadow(2, 4), 0);
  assert.equal(s.lastValid[RCS], 0, "valid stays as the GGTT write left it");
});

Deno.test("scheduler.c update_guest_context: engine pages, ring head, context control and timestamp, and the state page from dword 52 go back", async () => {
  const { gpa, put, word, shadow, run } = await booted();
  const at = (slot: number) => gpa(1) + ctxValueOffset(slot);
  const ctlBefore = word(at(CTX_CONTEXT_CONTROL));
  const pdp = word(at(CTX_PDP0_LDW));
  put(at(CTX_CTX_TIMESTAMP), 0x1234);
  put(gpa(1) + 4 * 200, 0x5555); // after the ring context: copied in, then back
  run();
  assert.equal(word(at(CTX_CONTEXT_CONTROL)), (ctlBefore | 0xffff0000) >>> 0, "masked as shadowed");
  assert.equal(word(at(CTX_CTX_TIMESTAMP)), 0x1234);
  assert.equal(word(at(CTX_RING_HEAD)), word(at(CTX_RING_TAIL)), "head = the workload's tail");
  assert.equal(word(gpa(1) + 4 * 200), 0x5555);
  assert.equal(word(at(CTX_PDP0_LDW)), pdp, "the guest's PPGTT root stays the guest's");
  assert.notEqual(shadow(1, CTX_PDP0_LDW + 1), pdp, "the shadow runs on the shadow PML4");
});

Deno.test("scheduler.c update_guest_context: engine pages nobody wrote go back as zeros without a copy (the guest's frames get no storage); written ones as they are", async () => {
  const { r, gpa, put, word, shadow, run, rewriteLrcaEntry, guests } = await booted();
  const mem = guests[0].mem, host = r.gpu.memory;
  const storage = (p: number) => host.peek(mem.residentMfn(gpa(p) / PAGE));
  for (let p = 2; p < 6; p++) {
    assert.ok(mem.residentMfn(gpa(p) / PAGE) >= 0, `page ${p} is the guest's RAM (written)`);
    assert.equal(storage(p), null, `page ${p}: zeros, never stored`);
    assert.equal(word(gpa(p) + 64), 0);
  }
  rewriteLrcaEntry();
  put(gpa(3) + 8, 0xabc);
  run();
  assert.equal(shadow(3, 2), 0xabc, "copied in");
  assert.equal(word(gpa(3) + 8), 0xabc, "and back");
  assert.equal(word(gpa(2) + 8), 0);
  // a write from zeros onto a page with data still zeros it
  rewriteLrcaEntry();
  put(gpa(3) + 8, 0);
  run();
  put(gpa(2) + 8, 0x77);
  run();
  assert.equal(word(gpa(2) + 8), 0, "the stale zeros of the shadow went back over it");
});

Deno.test("scheduler.c intel_vgpu_setup_submission / intel_vgpu_clean_submission: one shadow context per vGPU and engine, reused, freed at destroy", async () => {
  const { r, v, img, run, guests } = await booted(2);
  guests[1].drv.submitBatch(RCS, mix({ draw: 2 }));
  run();
  assert.equal(v.shadowContexts.images[RCS], img, "the same image for every workload");
  const other = guests[1].v.shadowContexts.images[RCS];
  assert.ok(other !== null && other.gma !== img.gma, "another vGPU has its own");
  assert.equal(r.gpu.contextOwner(img.gma), v.owner);
  const used = r.gvt.hostGm.inUse, pages = img.pages;
  assert.equal(pages, 22, "Skylake's render context image");
  r.gvt.destroyVgpu(v.id);
  assert.equal(r.gvt.hostGm.inUse, used - pages);
  assert.equal(v.shadowContexts.images[RCS], null);
  assert.notEqual(r.gpu.contextOwner(img.gma), v.owner, "its owner tag is gone");
});

Deno.test("scheduler.c populate_shadow_context: one guest-memory read per run of consecutive context pages", async () => {
  const { r, v, run, rewriteLrcaEntry, gpa } = await booted();
  const contiguous = Array.from({ length: 20 }, (_, i) => gpa(i + 2)).every((g, i, a) =>
    i === 0 || g === a[i - 1] + PAGE
  );
  assert.ok(contiguous, "the guest driver's context pages are consecutive guest frames");
  const reads = () => r.gate.opCount("readGpa", v.id);
  let before = reads();
  run();
  const skipped = reads() - before;
  rewriteLrcaEntry();
  before = reads();
  run();
  assert.equal(reads() - before, skipped + 1, "pages 2..21 in one read");
});

Deno.test("gvtsim run: the results count the engine-context copies made and skipped per VM", async () => {
  const out = await gvtsim("run", "scenarios/ten_ms_batches.gvt", "--json", "-");
  assert.equal(out.code, 0, out.err);
  const res = JSON.parse(out.out) as { vms: { counters: Record<string, number> }[] };
  for (const vm of res.vms) {
    const c = vm.counters;
    assert.equal(c["shadow_ctx.populated"], 1, "one guest context, copied once");
    assert.equal(c["shadow_ctx.skipped"], c["workloads.completed"] - 1);
  }
});

Deno.test("vgpu.c intel_gvt_reset_vgpu_locked: a reset keeps the vGPU's shadow contexts (only destroy frees them)", async () => {
  const { r, v, img } = await booted();
  const used = r.gvt.hostGm.inUse;
  r.gvt.resetVgpu(v.id, "dmlr");
  assert.equal(v.shadowContexts.images[RCS], img);
  assert.equal(r.gvt.hostGm.inUse, used);
});

Deno.test("migration: the target's vGPU has its own shadow contexts, last_ctx invalid (the engine pages are copied again)", async () => {
  const text = migrationScenario({ expects: "expect violations() == 0" });
  const { r } = await runMigration(text, "--until", "1200ms");
  assert.equal(only(r).outcome, "done");
  const c = (vm: string) => r!.vms.find((x) => x.name === vm)!.counters;
  assert.equal(c("web")["shadow_ctx.populated"], 2, "rcs and bcs, once each");
  assert.equal(c("x")["shadow_ctx.populated"], 4, "again on the target");
});

/** Logs every readGpa of vGPU `id` (guest-physical address, length) while `f` runs. */
function readsDuring(r: Awaited<ReturnType<typeof gvtRig>>, id: number, f: () => void) {
  const log: [number, number][] = [];
  const gate = r.gate, orig = gate.readGpa.bind(gate);
  gate.readGpa = (vid: number, gpa: number, buf: Uint8Array) => {
    if (vid === id) log.push([gpa, buf.length]);
    return orig(vid, gpa, buf);
  };
  try {
    f();
  } finally {
    gate.readGpa = orig;
  }
  return log;
}

Deno.test("scheduler.c intel_vgpu_create_workload: the ring context is read field by field, 4 bytes each, in upstream's order", async () => {
  const { r, v, gpa, guests } = await booted();
  const { drv } = guests[0];
  const log = readsDuring(r, v.id, () => drv.submitBatch(RCS, mix({ draw: 2 })));
  const at = (slot: number) => gpa(1) + ctxValueOffset(slot);
  const pdps = [
    CTX_PDP3_UDW,
    CTX_PDP3_LDW,
    CTX_PDP2_UDW,
    CTX_PDP2_LDW,
    CTX_PDP1_UDW,
    CTX_PDP1_LDW,
    CTX_PDP0_UDW,
    CTX_PDP0_LDW,
  ];
  const expected = [
    // ring header, tail, start, control, context control
    ...[CTX_RING_HEAD, CTX_RING_TAIL, CTX_RING_BUFFER_START, CTX_RING_BUFFER_CONTROL].map(at),
    at(CTX_CONTEXT_CONTROL),
    // render only: bb_per_ctx_ptr, rcs_indirect_ctx
    at(CTX_BB_PER_CTX_PTR),
    at(CTX_RCS_INDIRECT_CTX),
    // prepare_mm -> read_guest_pdps: pdps[0..7]
    ...pdps.map(at),
  ].map((g) => [g, 4]);
  assert.deepEqual(log.slice(0, expected.length), expected);
  assert.equal(expected.length, 15);
  r.sim.runFor(20 * MS);
  assert.equal(v.counters.workloadsCompleted, 2, "the workload made from those fields ran");
});

Deno.test("scheduler.c populate_shadow_context -EFAULT: a context page the guest GGTT does not map puts the vGPU in failsafe (workload_thread, vgpu_is_vm_unhealthy)", async () => {
  const { r, v, lrca, guests, rewriteLrcaEntry } = await booted(2);
  rewriteLrcaEntry(); // last_ctx invalid: the engine pages are copied (and looked up) again
  const at = GTT_OFFSET + (lrca / PAGE + 3) * 8;
  r.gvt.emulateMmioWrite(v.id, at, 8, 0); // page 3 of the context: not present
  guests[0].drv.submitBatch(RCS, mix({ draw: 2 }));
  guests[1].drv.submitBatch(RCS, mix({ draw: 2 }));
  r.sim.runFor(20 * MS);
  assert.equal(v.failsafe, true);
  assert.equal(v.failsafeReason, "guest_error");
  assert.equal(r.gvt.counters().vgpus.g0["scan.violation.context_page"], 1);
  assert.equal(v.counters.workloadsCompleted, 1, "only the boot-time batch completed");
  assert.equal(guests[1].v.failsafe, false);
  assert.equal(guests[1].v.counters.workloadsCompleted, 1, "the other vGPU runs on");
});

Deno.test("populate_shadow_context: a readGpa fault (the scenario's `fault readGpa error`) on the engine-context copy counts as its -EFAULT: failsafe", async () => {
  // Twin rigs run the same calls: the first finds which read of the submission copies the
  // engine pages, the second injects an error into exactly that one through the gate's rule.
  const find = await booted();
  find.rewriteLrcaEntry();
  const log = readsDuring(find.r, find.v.id, () => {
    find.guests[0].drv.submitBatch(RCS, mix({ draw: 2 }));
    find.r.sim.runFor(20 * MS);
  });
  const n = log.findIndex(([g, len]) => g === find.gpa(2) && len > PAGE);
  assert.ok(n > 15, "the engine pages are read after the workload's creation");
  const { r, v, guests, rewriteLrcaEntry } = await booted();
  rewriteLrcaEntry();
  r.gate.addFault({ op: "readGpa", vm: "g0", action: "error", afterCalls: n, count: 1, loc });
  guests[0].drv.submitBatch(RCS, mix({ draw: 2 }));
  r.sim.runFor(20 * MS);
  assert.equal(r.gate.faultsInjected.length, 1);
  assert.equal(v.failsafe, true);
  assert.equal(v.failsafeReason, "guest_error");
  assert.equal(r.gvt.counters().vgpus.g0["scan.violation.context_page"], 1);
  assert.equal(v.counters.workloadsCompleted, 1, "only the boot-time batch completed");
});
