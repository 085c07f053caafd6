/**
 * Shadow contexts (Linux drivers/gpu/drm/i915/gvt/scheduler.c). A vGPU has one host context
 * per engine (`intel_vgpu_submission.shadow[]`), and every workload of that vGPU on that
 * engine runs in it: its image is made at its first use (i915 allocates a context's state at
 * its first pin) and kept, mapped in the host's hidden graphics memory, until the vGPU is
 * destroyed. The guest's context image is copied in before each workload runs and copied back
 * when it completes, by these rules:
 *
 * | rule                                                 | upstream (scheduler.c unless named)  |
 * | ---------------------------------------------------- | ------------------------------------ |
 * | one shadow context per vGPU and engine, reused by    | `intel_vgpu_setup_submission`        |
 * | every workload; none shared                          | (`s->shadow[i]`)                     |
 * | freed when the vGPU is destroyed, not at a reset     | `intel_vgpu_clean_submission`        |
 * | `last_ctx[]` starts invalid (a new vGPU, also a      | `intel_vgpu_setup_submission`        |
 * | migrated one on its target)                          | (memset)                             |
 * | in: context control (all mask bits set), timestamp;  | `populate_shadow_context`            |
 * | render: the per-context and indirect-context         | (`COPY_REG`, `COPY_REG_MASKED`)      |
 * | pointers and offset; blitter: the tile register      |                                      |
 * | in: the register-state page from dword 0x50          | `populate_shadow_context`            |
 * | (`RING_CTX_SIZE`) to its end                         |                                      |
 * | the shadow ring (start, control, head 0, tail) and   | `copy_workload_to_ring_buffer`,      |
 * | the PPGTT roots are the mediator's                   | `update_shadow_pdps`                 |
 * | skip the engine-context pages (2 ..) when `last_ctx` | `populate_shadow_context` (commit    |
 * | is valid with the same LRCA and ring-context GPA;    | fb55c735)                            |
 * | either way `last_ctx` becomes this context           |                                      |
 * | skip them too for a restore-inhibit context,         | `populate_shadow_context`            |
 * | `last_ctx.valid` left as it was                      | (`IS_RESTORE_INHIBIT`)               |
 * | else `last_ctx.valid` false, pages 2 .. N-1 (N 19    | `populate_shadow_context`            |
 * | for Broadwell's render engine), one read per run of  |                                      |
 * | consecutive guest pages, then the engine context     | cmd_parser.c                         |
 * | scanned (scanner.ts), valid again once both are done | `intel_gvt_scan_engine_context`      |
 * | a page the guest GGTT does not map: -EFAULT, the     | `populate_shadow_context`,           |
 * | workload fails, the vGPU enters failsafe (gvt.h      | `dispatch_workload`,                 |
 * | `vgpu_is_vm_unhealthy`: -EFAULT and -EBADRQC only)   | `workload_thread`                    |
 * | a guest GGTT write to the entry of a shadowed LRCA   | gtt.c                                |
 * | invalidates `last_ctx` (the context was probably     | `intel_vgpu_emulate_ggtt_mmio_write` |
 * | unpinned)                                            |                                      |
 * | back: pages 2 .. N-1 (one write per run; nothing     | `update_guest_context`               |
 * | more after an unmapped page), the ring head as the   |                                      |
 * | workload's tail, context control, timestamp, the     |                                      |
 * | state page from dword 52 (`sizeof(struct             |                                      |
 * | execlist_ring_context)`)                             |                                      |
 *
 * gvtsim keeps to them with one difference of its own: a guest read that fails counts as
 * that -EFAULT, so the vGPU enters failsafe (upstream ignores `intel_gvt_read_gpa`'s result
 * and copies whatever the buffer held). A scan violation has the scanner's errno (-EBADRQC
 * or -EFAULT: failsafe).
 */

import { le32, putLe32 } from "../hw/bits.ts";
import {
  CTX_BB_PER_CTX_PTR,
  CTX_CONTEXT_CONTROL,
  CTX_CTX_TIMESTAMP,
  CTX_RCS_INDIRECT_CTX,
  CTX_RCS_INDIRECT_CTX_OFFSET,
  CTX_RING_HEAD,
  ctxValueOffset,
  initRegState,
  LRC_STATE_PN,
} from "../hw/context.ts";
import { ENGINES } from "../hw/engines.ts";
import { type HostMemory, PAGE_SIZE, ZERO_RUN_PAGES, zeroPages } from "../hw/memory.ts";
import { CONTEXT_CONTROL_FIELDS } from "../hw/registers/ring.ts";
import { BCS, NUM_ENGINES, RCS } from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import type { HostBuffer } from "./host_gm.ts";
import type { Scanner } from "./scanner.ts";
import type { Vgpu } from "./vgpu_state.ts";
import type { Workload } from "./workload.ts";

/** A vGPU's shadow contexts and what was last shadowed on each engine (`intel_vgpu_submission`). */
export class ShadowContexts {
  /** `shadow[]`: each engine's host context image (null until its first workload). */
  readonly images: (HostBuffer | null)[] = new Array(NUM_ENGINES).fill(null);
  /** `last_ctx[].lrca`: graphics address of the guest context last shadowed per engine. */
  readonly lastLrca: Float64Array = new Float64Array(NUM_ENGINES);
  /** `last_ctx[].ring_context_gpa`: guest-physical address of its register-state page. */
  readonly lastGpa: Float64Array = new Float64Array(NUM_ENGINES);
  /** `last_ctx[].valid`: the image's engine-context pages hold that context's. */
  readonly lastValid: Uint8Array = new Uint8Array(NUM_ENGINES);

  /**
   * A guest wrote GGTT entry `index` (`intel_vgpu_emulate_ggtt_mmio_write`): a context whose
   * LRCA it maps was probably unpinned, so its engine pages are copied in again next time.
   */
  ggttWritten(index: number): void {
    const gma = index * PAGE_SIZE;
    for (let e = 0; e < NUM_ENGINES; e++) {
      if (this.lastValid[e] !== 0 && this.lastLrca[e] === gma) this.lastValid[e] = 0;
    }
  }
}

/** A register of the ring context copied on its own: its slot, and on which engine (-1: all). */
interface RegCopy {
  /** Register-state slot. */
  slot: number;
  /** Engine it is copied on (-1: every engine). */
  engine: number;
  /** Also copied back at completion. */
  back: boolean;
}

/** Slot of the blitter's tile register (`BCS_TILE_REGISTER_VAL_OFFSET` is its value's byte). */
const CTX_BCS_TILE = 0x42;

/** Ring-context registers copied one at a time (`COPY_REG` in both functions). */
const REG_COPIES: readonly RegCopy[] = [
  { slot: CTX_CONTEXT_CONTROL, engine: -1, back: true }, // in: masked, all mask bits set
  { slot: CTX_CTX_TIMESTAMP, engine: -1, back: true },
  { slot: CTX_BB_PER_CTX_PTR, engine: RCS, back: false },
  { slot: CTX_RCS_INDIRECT_CTX, engine: RCS, back: false },
  { slot: CTX_RCS_INDIRECT_CTX_OFFSET, engine: RCS, back: false },
  { slot: CTX_BCS_TILE, engine: BCS, back: false },
];

/** `RING_CTX_SIZE`: bytes of the ring context the populate copy leaves out (0x50 dwords). */
const RING_CTX_SIZE = 0x50 * 4;
/** `sizeof(struct execlist_ring_context)`: bytes the copy back leaves out (52 dwords). */
const RING_CTX_STRUCT = 52 * 4;
/** First page of the engine context (after the status page and the register state). */
const ENGINE_CTX_PN = LRC_STATE_PN + 1;

/** The most pages any engine's context image has, on any platform. */
const MAX_PAGES = Math.max(...ENGINES.map((e) => Math.max(e.contextPages[8], e.contextPages[9])));
/** One run of consecutive guest pages at a time (`RUNS[n]`: its first n pages). */
const RUN = new Uint8Array(MAX_PAGES * PAGE_SIZE);
const RUN_WORDS = new Uint32Array(RUN.buffer);
const RUNS = Array.from({ length: MAX_PAGES + 1 }, (_, n) => RUN.subarray(0, n * PAGE_SIZE));
/** The state page after the ring context as copied in, and its words. */
const TAIL_IN = RUN.subarray(0, PAGE_SIZE - RING_CTX_SIZE);
const TAIL_IN_WORDS = RUN_WORDS.subarray(0, (PAGE_SIZE - RING_CTX_SIZE) >>> 2);
/** The state page staged whole at the run buffer's start: the part copied back. */
const TAIL_BACK = RUN.subarray(RING_CTX_STRUCT, PAGE_SIZE);
const WORD = new Uint8Array(4);

/** Fills a new shadow image's register state as i915 does for a new context of `engine`. */
export function initShadowImage(
  mem: HostMemory,
  img: HostBuffer,
  engine: number,
  gen: 8 | 9,
): void {
  initRegState(mem.page(img.mfns[LRC_STATE_PN]), engine, 0, PAGE_SIZE, 0, gen);
}

/**
 * `populate_shadow_context`: copies the context of workload `w` (the guest context at its
 * LRCA, register-state page at `ringContextGpa`, `ctxPages` pages copied) into its vGPU's
 * shadow image `img`; when the engine-context pages were copied, `scanner` scans them
 * (`intel_gvt_scan_engine_context`, into `w.scan`). False if a page was unmapped or could not
 * be read, or the scan found a violation (`w.scan.violation` set).
 */
export function populateShadowContext(
  gate: MptGate,
  mem: HostMemory,
  scanner: Scanner,
  w: Workload,
  img: HostBuffer,
): boolean {
  const v = w.vgpu, engine = w.engine, lrca = w.lrca, ctxGpa = w.ringContextGpa;
  const s = v.shadowContexts, id = v.id;
  const state = mem.page(img.mfns[LRC_STATE_PN]);
  for (const r of REG_COPIES) {
    if (r.engine >= 0 && r.engine !== engine) continue;
    if (gate.readGpa(id, ctxGpa + ctxValueOffset(r.slot), WORD) < 0) return false;
    let x = le32(WORD, 0);
    if (r.slot === CTX_CONTEXT_CONTROL) x = (x | 0xffff0000) >>> 0;
    state[r.slot + 1] = x;
  }
  if (gate.readGpa(id, ctxGpa + RING_CTX_SIZE, TAIL_IN) < 0) return false;
  state.set(TAIL_IN_WORDS, RING_CTX_SIZE >>> 2);
  const skip = s.lastValid[engine] !== 0 && s.lastLrca[engine] === lrca &&
    s.lastGpa[engine] === ctxGpa;
  s.lastLrca[engine] = lrca;
  s.lastGpa[engine] = ctxGpa;
  const ctl = state[CTX_CONTEXT_CONTROL + 1];
  if (skip || (ctl & CONTEXT_CONTROL_FIELDS.engineRestoreInhibit.mask) !== 0) {
    v.counters.ctxCopiesSkipped++;
    return true;
  }
  s.lastValid[engine] = 0;
  if (!copyRuns(gate, mem, v, img, lrca, w.ctxPages, false)) return false;
  if (!scanner.scanEngineContext(v, engine, mem, img, img.pages, w.scan)) return false;
  s.lastValid[engine] = 1;
  v.counters.ctxCopies++;
  v.counters.ctxCopiesOn[engine]++;
  v.counters.ctxPagesIn[engine] += w.ctxPages - ENGINE_CTX_PN;
  return true;
}

/**
 * `update_guest_context`: copies vGPU `v`'s shadow image `img` back into the guest context at
 * `lrca` (register state at `ctxGpa`, `pages` pages) after a workload that ended at `tail`.
 */
export function updateGuestContext(
  gate: MptGate,
  mem: HostMemory,
  v: Vgpu,
  img: HostBuffer,
  lrca: number,
  ctxGpa: number,
  pages: number,
  tail: number,
): void {
  const id = v.id;
  if (!copyRuns(gate, mem, v, img, lrca, pages, true)) return;
  putLe32(WORD, 0, tail);
  gate.writeGpa(id, ctxGpa + ctxValueOffset(CTX_RING_HEAD), WORD);
  const state = mem.page(img.mfns[LRC_STATE_PN]);
  for (const r of REG_COPIES) {
    if (!r.back) continue;
    putLe32(WORD, 0, state[r.slot + 1]);
    gate.writeGpa(id, ctxGpa + ctxValueOffset(r.slot), WORD);
  }
  RUN_WORDS.set(state); // (one native copy of the page; TAIL_BACK is its part from dword 52)
  gate.writeGpa(id, ctxGpa + RING_CTX_STRUCT, TAIL_BACK);
}

/**
 * Copies the engine-context pages (2 .. `pages` - 1) of the guest context at `lrca` into the
 * image (`back`: from it), one gate call per run of consecutive guest pages, as both upstream
 * functions do. False at a page the guest GGTT does not map (nothing after it is copied) or
 * a read that failed.
 */
function copyRuns(
  gate: MptGate,
  mem: HostMemory,
  v: Vgpu,
  img: HostBuffer,
  lrca: number,
  pages: number,
  back: boolean,
): boolean {
  let first = ENGINE_CTX_PN, base = -1;
  for (let p = ENGINE_CTX_PN; p <= pages; p++) {
    const gfn = p < pages ? v.ggtt.gmaToGfn(lrca + p * PAGE_SIZE) : -1;
    if (p < pages && gfn < 0) return false;
    if (base >= 0 && (p === pages || gfn * PAGE_SIZE !== base + (p - first) * PAGE_SIZE)) {
      const n = p - first;
      if (back) gate.writeGpa(v.id, base, stageBack(mem, img, first, n));
      else {
        if (gate.readGpa(v.id, base, RUNS[n]) < 0) return false;
        for (let k = 0; k < n; k++) copyPage(k * 1024, mem, img.mfns[first + k]);
      }
      base = -1;
    }
    if (p < pages && base < 0) {
      first = p;
      base = gfn * PAGE_SIZE;
    }
  }
  return true;
}

/**
 * The bytes of image pages `first .. first + n - 1` to copy back: when none was ever written
 * (no storage: zeros, as in every run whose guests leave their engine context alone), shared
 * zeros that memory writes without copying; else those pages staged in the run buffer.
 */
function stageBack(mem: HostMemory, img: HostBuffer, first: number, n: number): Uint8Array {
  let k = 0;
  while (k < n && mem.peek(img.mfns[first + k]) === null) k++;
  if (k === n && n <= ZERO_RUN_PAGES) return zeroPages(n);
  for (k = 0; k < n; k++) {
    const src = mem.peek(img.mfns[first + k]); // null: never written, reads as zeros
    if (src === null) RUN_WORDS.fill(0, k * 1024, (k + 1) * 1024);
    else RUN_WORDS.set(src, k * 1024);
  }
  return RUNS[n];
}

/**
 * Copies one page of the run buffer, from word `at`, into frame `mfn`; a page of zeros onto a
 * frame that was never written (it reads as zeros already) gives it no storage.
 */
function copyPage(at: number, mem: HostMemory, mfn: number): void {
  let dst = mem.peek(mfn);
  if (dst === null) {
    let i = 0;
    while (i < 1024 && RUN_WORDS[at + i] === 0) i++;
    if (i === 1024) return;
    dst = mem.page(mfn);
  }
  for (let i = 0; i < 1024; i++) dst[i] = RUN_WORDS[at + i];
}
