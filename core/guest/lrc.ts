/**
 * The logical ring context (LRC) image a guest writes for an engine, after i915's gen8/gen9
 * `init_reg_state` / `execlists_init_reg_state`: page 0 is the per-process hardware status
 * page, page {@link LRC_STATE_PN} holds the register state as MI_LOAD_REGISTER_IMM
 * (offset, value) pairs at the `CTX_*` dword indices of core/hw/regs.ts. With a 4-level
 * PPGTT the PML4 address goes into the PDP0 slots (ASSIGN_CTX_PML4).
 */

import {
  CTX_BB_HEAD_L,
  CTX_BB_HEAD_U,
  CTX_BB_STATE,
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
  CTX_RING_BUFFER_CONTROL,
  CTX_RING_BUFFER_START,
  CTX_RING_HEAD,
  CTX_RING_TAIL,
  RCS,
  RING_BASE,
  RING_BBADDR,
  RING_BBSTATE,
  RING_CTL,
  RING_CTX_TIMESTAMP,
  RING_HEAD,
  RING_NR_PAGES,
  RING_PDP0_LDW,
  RING_PDP0_UDW,
  RING_START,
  RING_TAIL,
  RING_VALID,
} from "../hw/regs.ts";
import { header, ID } from "../cmd/table.ts";

export { LRC_STATE_PN } from "../hw/regs.ts";

/** RING_CONTEXT_CONTROL (ring base +). */
const RING_CONTEXT_CONTROL = 0x244;
/** RING_BBADDR_UDW. */
const RING_BBADDR_UDW = 0x168;
/** Second-level batch registers. */
const RING_SBBADDR_UDW = 0x11c, RING_SBBADDR = 0x114, RING_SBBSTATE = 0x118;
/** Render per-context batch / indirect context pointers. */
const RING_BB_PER_CTX_PTR = 0x1c0, RING_INDIRECT_CTX = 0x1c4, RING_INDIRECT_CTX_OFFSET = 0x1c8;
/** CTX_CTRL_INHIBIT_SYN_CTX_SWITCH (masked). */
const CTX_CTRL_INHIBIT_SYN_CTX_SWITCH = 1 << 3;
/** RING_BB_PPGTT in BB_STATE. */
const RING_BB_PPGTT = 1 << 5;
/** GEN8_R_PWR_CLK_STATE. */
const GEN8_R_PWR_CLK_STATE = 0x20c8;

const LRI_HEADER_0 = 0x01, LRI_HEADER_1 = 0x21, LRI_HEADER_2 = 0x41, R_PWR_CLK_STATE = 0x42;

function lri(n: number): number {
  return header(ID.MI_LOAD_REGISTER_IMM, 2 * n + 1);
}

/**
 * Fills `regs` (1024 dwords: the register-state page) for `engine` with its ring at
 * `ringGma` of `ringBytes`, and the PPGTT root `pml4` (guest-physical; 0 for none).
 */
export function initRegState(
  regs: Uint32Array,
  engine: number,
  ringGma: number,
  ringBytes: number,
  pml4: number,
): void {
  regs.fill(0);
  const base = RING_BASE[engine];
  const rcs = engine === RCS;
  const set = (idx: number, reg: number, value: number) => {
    regs[idx] = base + reg;
    regs[idx + 1] = value >>> 0;
  };
  regs[LRI_HEADER_0] = lri(rcs ? 14 : 11);
  set(
    CTX_CONTEXT_CONTROL,
    RING_CONTEXT_CONTROL,
    (CTX_CTRL_INHIBIT_SYN_CTX_SWITCH << 16) |
      CTX_CTRL_INHIBIT_SYN_CTX_SWITCH,
  );
  set(CTX_RING_HEAD, RING_HEAD, 0);
  set(CTX_RING_TAIL, RING_TAIL, 0);
  set(CTX_RING_BUFFER_START, RING_START, ringGma);
  set(CTX_RING_BUFFER_CONTROL, RING_CTL, ((ringBytes - 4096) & RING_NR_PAGES) | RING_VALID);
  set(CTX_BB_HEAD_U, RING_BBADDR_UDW, 0);
  set(CTX_BB_HEAD_L, RING_BBADDR, 0);
  set(CTX_BB_STATE, RING_BBSTATE, RING_BB_PPGTT);
  set(0x12, RING_SBBADDR_UDW, 0);
  set(0x14, RING_SBBADDR, 0);
  set(0x16, RING_SBBSTATE, 0);
  if (rcs) {
    set(0x18, RING_BB_PER_CTX_PTR, 0);
    set(0x1a, RING_INDIRECT_CTX, 0);
    set(0x1c, RING_INDIRECT_CTX_OFFSET, 0);
  }
  regs[LRI_HEADER_1] = lri(9);
  set(CTX_CTX_TIMESTAMP, RING_CTX_TIMESTAMP, 0);
  set(CTX_PDP3_UDW, RING_PDP0_UDW + 24, 0);
  set(CTX_PDP3_LDW, RING_PDP0_LDW + 24, 0);
  set(CTX_PDP2_UDW, RING_PDP0_UDW + 16, 0);
  set(CTX_PDP2_LDW, RING_PDP0_LDW + 16, 0);
  set(CTX_PDP1_UDW, RING_PDP0_UDW + 8, 0);
  set(CTX_PDP1_LDW, RING_PDP0_LDW + 8, 0);
  set(CTX_PDP0_UDW, RING_PDP0_UDW, Math.floor(pml4 / 4294967296));
  set(CTX_PDP0_LDW, RING_PDP0_LDW, pml4 >>> 0);
  if (rcs) {
    regs[LRI_HEADER_2] = lri(1);
    regs[R_PWR_CLK_STATE] = GEN8_R_PWR_CLK_STATE;
    regs[R_PWR_CLK_STATE + 1] = 0;
  }
}

/** Dword index (in the register-state page) of the RING_TAIL value. */
export const REG_STATE_TAIL: number = CTX_RING_TAIL + 1;
/** Dword index of the RING_HEAD value. */
export const REG_STATE_HEAD: number = CTX_RING_HEAD + 1;
