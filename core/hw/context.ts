/**
 * The logical ring context (LRC) image of gen8/gen9 engines, in one place: which page holds
 * what, where each register's value sits in the register-state page, and how the ring and
 * the PPGTT roots are read from and written into it. The GPU's context restore/save
 * (core/hw/execlist.ts), the mediator's workload creation and shadow context
 * (core/gvt/workload.ts, dispatch.ts), and the guest and native drivers all go through it.
 *
 * Sources (Linux drivers/gpu/drm/i915/): the page numbers (LRC_PPHWSP_PN, LRC_STATE_PN) and
 * register slots (CTX_RING_HEAD ...) of gt/intel_lrc_reg.h / gt/intel_lrc.c
 * `init_reg_state`: the register state is MI_LOAD_REGISTER_IMM (offset, value) pairs, so a
 * slot names the dword holding the register's offset and its value is the next dword;
 * gvt/scheduler.c `populate_shadow_context` and `update_guest_context` use the same slots;
 * the ring's size and valid bit come from RING_CTL (core/hw/registers/ring.ts fields).
 */

import { header, ID } from "../cmd/table.ts";
import { fieldValue, getField, hi32, isSet, lo32, maskedEnable } from "./bits.ts";
import { ENGINES } from "./engines.ts";
import { PAGE_SIZE } from "./memory.ts";
import { entryAddress } from "./pte.ts";
import {
  BBSTATE_FIELDS,
  CONTEXT_CONTROL_FIELDS,
  CTX_DESC_FIELDS,
  RING_CTL_FIELDS,
  RING_START_FIELDS,
} from "./registers/ring.ts";
import {
  RCS,
  RING_BBADDR,
  RING_BBSTATE,
  RING_CTL,
  RING_CTX_TIMESTAMP,
  RING_HEAD,
  RING_PDP0_LDW,
  RING_PDP0_UDW,
  RING_START,
  RING_TAIL,
} from "./regs.ts";

/** Page of the per-process hardware status page in a context image. */
export const LRC_PPHWSP_PN = 0;
/** Page of the register state in a context image. */
export const LRC_STATE_PN = 1;

/** Register-state slot of RING_CONTEXT_CONTROL. */
export const CTX_CONTEXT_CONTROL = 0x02;
/** Slot of RING_HEAD. */
export const CTX_RING_HEAD = 0x04;
/** Slot of RING_TAIL. */
export const CTX_RING_TAIL = 0x06;
/** Slot of RING_START. */
export const CTX_RING_BUFFER_START = 0x08;
/** Slot of RING_CTL. */
export const CTX_RING_BUFFER_CONTROL = 0x0a;
/** Slot of RING_BBADDR_UDW. */
export const CTX_BB_HEAD_U = 0x0c;
/** Slot of RING_BBADDR. */
export const CTX_BB_HEAD_L = 0x0e;
/** Slot of RING_BBSTATE. */
export const CTX_BB_STATE = 0x10;
/** Slot of RING_BB_PER_CTX_PTR (render only). */
export const CTX_BB_PER_CTX_PTR = 0x18;
/** Slot of RING_INDIRECT_CTX (render only). */
export const CTX_RCS_INDIRECT_CTX = 0x1a;
/** Slot of RING_INDIRECT_CTX_OFFSET (render only). */
export const CTX_RCS_INDIRECT_CTX_OFFSET = 0x1c;
/** Slot of RING_CTX_TIMESTAMP. */
export const CTX_CTX_TIMESTAMP = 0x22;
/** Slot of PDP3's upper dword. */
export const CTX_PDP3_UDW = 0x24;
/** Slot of PDP3's lower dword. */
export const CTX_PDP3_LDW = 0x26;
/** Slot of PDP2's upper dword. */
export const CTX_PDP2_UDW = 0x28;
/** Slot of PDP2's lower dword. */
export const CTX_PDP2_LDW = 0x2a;
/** Slot of PDP1's upper dword. */
export const CTX_PDP1_UDW = 0x2c;
/** Slot of PDP1's lower dword. */
export const CTX_PDP1_LDW = 0x2e;
/** Slot of PDP0's upper dword. */
export const CTX_PDP0_UDW = 0x30;
/** Slot of PDP0's lower dword (with a 4-level PPGTT: the PML4, ASSIGN_CTX_PML4). */
export const CTX_PDP0_LDW = 0x32;

/** Lower and upper slots of PDP0..3. */
const PDP_LDW = [CTX_PDP0_LDW, CTX_PDP1_LDW, CTX_PDP2_LDW, CTX_PDP3_LDW];
const PDP_UDW = [CTX_PDP0_UDW, CTX_PDP1_UDW, CTX_PDP2_UDW, CTX_PDP3_UDW];

/** Page-aligned part of an address dword. */

/** The value in register-state slot `slot`. */
export function ctxGet(state: Uint32Array, slot: number): number {
  return state[slot + 1] >>> 0;
}

/** Sets the value in register-state slot `slot`. */
export function ctxSet(state: Uint32Array, slot: number, value: number): void {
  state[slot + 1] = value >>> 0;
}

/** Byte offset of slot `slot`'s value inside the register-state page. */
export function ctxValueOffset(slot: number): number {
  return (slot + 1) * 4;
}

/** Ring buffer bytes a RING_CTL value describes (its page count field + 1 pages). */
export function ringBytes(ctl: number): number {
  return (getField(ctl, RING_CTL_FIELDS.pages) + 1) * PAGE_SIZE;
}

/** RING_CTL of a valid ring of `bytes` (a multiple of the page size). */
export function ringCtl(bytes: number): number {
  return ((bytes - PAGE_SIZE) & RING_CTL_FIELDS.pages.mask | RING_CTL_FIELDS.valid.mask) >>> 0;
}

/** The ring a context image describes. */
export interface ContextRing {
  /** RING_CTL as in the image. */
  ctl: number;
  /** RING_CTL's valid bit. */
  valid: boolean;
  /** Ring start (graphics address, page aligned). */
  start: number;
  /** Ring size in bytes (from RING_CTL, valid or not). */
  size: number;
  /** Head offset inside the ring (wrapped, dword aligned). */
  head: number;
  /** Tail offset inside the ring (wrapped, dword aligned). */
  tail: number;
}

/** A fresh {@link ContextRing} to fill. */
export function contextRing(): ContextRing {
  return { ctl: 0, valid: false, start: 0, size: PAGE_SIZE, head: 0, tail: 0 };
}

/** Reads the ring of register-state page `state` into `out` (no allocation). */
export function readContextRing(state: Uint32Array, out: ContextRing): ContextRing {
  const ctl = ctxGet(state, CTX_RING_BUFFER_CONTROL);
  const size = ringBytes(ctl);
  out.ctl = ctl;
  out.valid = isSet(ctl, RING_CTL_FIELDS.valid);
  out.start = (ctxGet(state, CTX_RING_BUFFER_START) & RING_START_FIELDS.address.mask) >>> 0;
  out.size = size;
  out.head = ctxGet(state, CTX_RING_HEAD) & (size - 1) & ~3;
  out.tail = ctxGet(state, CTX_RING_TAIL) & (size - 1) & ~3;
  return out;
}

/** Writes a valid ring of `bytes` at `start` with `head`/`tail` into `state`. */
export function writeContextRing(
  state: Uint32Array,
  start: number,
  bytes: number,
  head: number,
  tail: number,
): void {
  ctxSet(state, CTX_RING_HEAD, head);
  ctxSet(state, CTX_RING_TAIL, tail);
  ctxSet(state, CTX_RING_BUFFER_START, start);
  ctxSet(state, CTX_RING_BUFFER_CONTROL, ringCtl(bytes));
}

/** PPGTT root `i` (PDPi; with 4 levels PDP0 holds the PML4) of register-state page `state`. */
export function contextRoot(state: Uint32Array, i: number): number {
  return entryAddress(ctxGet(state, PDP_LDW[i]), ctxGet(state, PDP_UDW[i]));
}

/** Sets PPGTT root `i` of `state` to the address `root`. */
export function setContextRoot(state: Uint32Array, i: number, root: number): void {
  ctxSet(state, PDP_LDW[i], lo32(root));
  ctxSet(state, PDP_UDW[i], hi32(root));
}

/** Ring registers only the context image names (offsets from the ring base). */
const RING_CONTEXT_CONTROL = 0x244, RING_BBADDR_UDW = 0x168;
const RING_SBBADDR_UDW = 0x11c, RING_SBBADDR = 0x114, RING_SBBSTATE = 0x118;
const RING_BB_PER_CTX_PTR = 0x1c0, RING_INDIRECT_CTX = 0x1c4, RING_INDIRECT_CTX_OFFSET = 0x1c8;
/** GEN8_R_PWR_CLK_STATE (absolute; render only). */
const GEN8_R_PWR_CLK_STATE = 0x20c8;

/**
 * The register-state rows of gen8/gen9 (`init_reg_state`): [slot, ring register, render
 * only]. Three MI_LOAD_REGISTER_IMM headers precede them: {@link LRI_HEADERS}.
 */
const STATE_ROWS: readonly (readonly [number, number, boolean])[] = [
  [CTX_CONTEXT_CONTROL, RING_CONTEXT_CONTROL, false],
  [CTX_RING_HEAD, RING_HEAD, false],
  [CTX_RING_TAIL, RING_TAIL, false],
  [CTX_RING_BUFFER_START, RING_START, false],
  [CTX_RING_BUFFER_CONTROL, RING_CTL, false],
  [CTX_BB_HEAD_U, RING_BBADDR_UDW, false],
  [CTX_BB_HEAD_L, RING_BBADDR, false],
  [CTX_BB_STATE, RING_BBSTATE, false],
  [0x12, RING_SBBADDR_UDW, false],
  [0x14, RING_SBBADDR, false],
  [0x16, RING_SBBSTATE, false],
  [CTX_BB_PER_CTX_PTR, RING_BB_PER_CTX_PTR, true],
  [CTX_RCS_INDIRECT_CTX, RING_INDIRECT_CTX, true],
  [CTX_RCS_INDIRECT_CTX_OFFSET, RING_INDIRECT_CTX_OFFSET, true],
  [CTX_CTX_TIMESTAMP, RING_CTX_TIMESTAMP, false],
  [CTX_PDP3_UDW, RING_PDP0_UDW + 24, false],
  [CTX_PDP3_LDW, RING_PDP0_LDW + 24, false],
  [CTX_PDP2_UDW, RING_PDP0_UDW + 16, false],
  [CTX_PDP2_LDW, RING_PDP0_LDW + 16, false],
  [CTX_PDP1_UDW, RING_PDP0_UDW + 8, false],
  [CTX_PDP1_LDW, RING_PDP0_LDW + 8, false],
  [CTX_PDP0_UDW, RING_PDP0_UDW, false],
  [CTX_PDP0_LDW, RING_PDP0_LDW, false],
];
/** MI_LOAD_REGISTER_IMM headers: [slot, registers on render, registers elsewhere]. */
const LRI_HEADERS: readonly (readonly [number, number, number])[] = [
  [0x01, 14, 11],
  [0x21, 9, 9],
  [0x41, 1, 0],
];
/** Slot of GEN8_R_PWR_CLK_STATE (render only). */
const CTX_R_PWR_CLK_STATE = 0x42;

/** Dwords of the ring context at the start of the register-state page (gvt `RING_CTX_SIZE`). */
export const RING_CTX_DWORDS = 0x50;

/**
 * The engine context of a default context image (i915 `engine->default_state`, which the
 * hardware saves after an empty request and every new context starts from): after the ring
 * context, from dword {@link RING_CTX_DWORDS} of the register-state page, one
 * MI_LOAD_REGISTER_IMM of these registers, closed by MI_BATCH_BUFFER_END. gvtsim's image
 * holds the registers upstream's switch lists mark as saved in the context image
 * (gvt/mmio_context.c `gen8_engine_mmio_list` / `gen9_engine_mmio_list`, `in_context`; the
 * lists derive that flag from this table): render only, per graphics version. The real
 * hardware image holds more registers (docs/fidelity.md).
 */
export const ENGINE_CONTEXT_REGS: Readonly<Record<8 | 9, readonly (readonly [string, number])[]>> =
  (() => {
    const common: [string, number][] = [
      ["INSTPM", 0x20c0],
      ["CACHE_MODE_1", 0x7004],
      ["GEN7_GT_MODE", 0x7008],
      ["CACHE_MODE_0_GEN7", 0x7000],
      ["GEN7_COMMON_SLICE_CHICKEN1", 0x7010],
      ["HDC_CHICKEN0", 0x7300],
      ["VF_GUARDBAND", 0x83a4],
    ];
    return {
      8: common,
      9: [
        ...common,
        ["GEN8_CS_CHICKEN1", 0x2580],
        ["COMMON_SLICE_CHICKEN2", 0x7014],
        ["GEN7_HALF_SLICE_CHICKEN1", 0xe100],
        ["HALF_SLICE_CHICKEN2", 0xe180],
        ["HALF_SLICE_CHICKEN3", 0xe184],
        ["GEN9_HALF_SLICE_CHICKEN5", 0xe188],
        ["GEN9_HALF_SLICE_CHICKEN7", 0xe194],
        ["GEN8_ROW_CHICKEN", 0xe4f0],
        ["TRVATTL3PTRDW(0)", 0x4de0],
        ["TRVATTL3PTRDW(1)", 0x4de4],
        ["TRNULLDETCT", 0x4de8],
        ["TRINVTILEDETCT", 0x4dec],
        ["TRVADR", 0x4df0],
        ["TRTTE", 0x4df4],
        ["GEN8_HDC_CHICKEN1", 0x7304],
      ],
    };
  })();

/** True if the default context image of `engine` on graphics version `gen` loads `offset`. */
export function inEngineContext(gen: 8 | 9, engine: number, offset: number): boolean {
  return engine === RCS && ENGINE_CONTEXT_REGS[gen].some(([, o]) => o === offset);
}

/**
 * Writes the engine context of a default image (the table above, values 0) into
 * register-state page `state` from dword {@link RING_CTX_DWORDS}; returns the dword after
 * its MI_BATCH_BUFFER_END.
 */
export function writeEngineContext(state: Uint32Array, engine: number, gen: 8 | 9): number {
  let at = RING_CTX_DWORDS;
  const regs = engine === RCS ? ENGINE_CONTEXT_REGS[gen] : [];
  if (regs.length > 0) {
    state[at++] = header(ID.MI_LOAD_REGISTER_IMM, 2 * regs.length + 1);
    for (const [, offset] of regs) {
      state[at++] = offset;
      state[at++] = 0;
    }
  }
  state[at++] = header(ID.MI_BATCH_BUFFER_END, 1);
  return at;
}

/**
 * Fills register-state page `state` (1024 dwords) for `engine` of a graphics version `gen`
 * part as i915 does for a new context (from the default image): its ring at `ringGma` of
 * `ringBytes`, empty, the PPGTT root `pml4` (0 for none) in PDP0, and the engine context.
 */
export function initRegState(
  state: Uint32Array,
  engine: number,
  ringGma: number,
  ringBytes: number,
  pml4: number,
  gen: 8 | 9,
): void {
  state.fill(0);
  writeEngineContext(state, engine, gen);
  const base = ENGINES[engine].mmioBase, render = engine === RCS;
  for (const [slot, rcs, other] of LRI_HEADERS) {
    const n = render ? rcs : other;
    if (n > 0) state[slot] = header(ID.MI_LOAD_REGISTER_IMM, 2 * n + 1);
  }
  for (const [slot, reg, renderOnly] of STATE_ROWS) {
    if (!renderOnly || render) state[slot] = base + reg;
  }
  if (render) state[CTX_R_PWR_CLK_STATE] = GEN8_R_PWR_CLK_STATE;
  ctxSet(state, CTX_CONTEXT_CONTROL, maskedEnable(CONTEXT_CONTROL_FIELDS.inhibitSynCtxSwitch.mask));
  ctxSet(state, CTX_BB_STATE, BBSTATE_FIELDS.ppgtt.mask);
  writeContextRing(state, ringGma, ringBytes, 0, 0);
  setContextRoot(state, 0, pml4);
}

/** GGTT address of the context image a descriptor's lower dword names (its LRCA). */
export function descLrca(lo: number): number {
  return (lo & CTX_DESC_FIELDS.lrca.mask) >>> 0;
}

/** Addressing mode of a descriptor (LEGACY_32B_CONTEXT, LEGACY_64B_CONTEXT ...). */
export function descAddressingMode(lo: number): number {
  return getField(lo, CTX_DESC_FIELDS.addressingMode);
}

/**
 * Lower descriptor dword of the context image at `lrca`: valid, privileged (GVT-g requires
 * it), addressing `mode`, plus `extra` descriptor bits (i915 `lrc_descriptor`).
 */
export function contextDescriptor(lrca: number, mode: number, extra = 0): number {
  return (descLrca(lrca) | CTX_DESC_FIELDS.valid.mask | CTX_DESC_FIELDS.privilege.mask |
    fieldValue(CTX_DESC_FIELDS.addressingMode, mode) | extra) >>> 0;
}

/** Descriptor `lo` pointed at the context image at `lrca` (flags kept, marked valid). */
export function withLrca(lo: number, lrca: number): number {
  return (descLrca(lrca) | (lo & ~CTX_DESC_FIELDS.lrca.mask) | CTX_DESC_FIELDS.valid.mask) >>> 0;
}
