/**
 * The register-definition table of the physical GPU's BAR0: offset, name, reset value,
 * read-only bits, write semantics (masked, write-1-to-clear) and the side-effect class the
 * GPU dispatches on. Offsets not in the table are plain storage (like gvt's default
 * handler), so the table lists what has semantics, not every register of the part.
 */

import {
  CSB_ENTRIES,
  CSB_RESET_WRITE_PTR,
  DSPCNTR_A,
  DSPSTRIDE_A,
  DSPSURF_A,
  DSPSURFLIVE_A,
  FENCE_REG_GEN6_LO,
  FORCEWAKE_PAIRS,
  GDRST,
  GEN8_MASTER_IRQ,
  IRQ_GROUP_BASE,
  IRQ_GROUP_NAMES,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  IRQ_ISR,
  MODE_IDLE,
  NUM_PIPES,
  PIPE_FRMCOUNT_A,
  PIPE_STRIDE,
  PIPECONF_A,
  PIPECONF_STATE_ENABLE,
  RING_ACTHD,
  RING_ACTHD_UDW,
  RING_BASE,
  RING_BBADDR,
  RING_BBSTATE,
  RING_CONTEXT_STATUS_BUF,
  RING_CONTEXT_STATUS_PTR,
  RING_CTL,
  RING_CTX_TIMESTAMP,
  RING_ELSP,
  RING_EXECLIST_STATUS_HI,
  RING_EXECLIST_STATUS_LO,
  RING_GPR0,
  RING_HEAD,
  RING_HWS_PGA,
  RING_IMR,
  RING_INSTPM,
  RING_MI_MODE,
  RING_MODE,
  RING_NOPID,
  RING_PDP0_LDW,
  RING_START,
  RING_TAIL,
  RING_TIMESTAMP,
  RING_TIMESTAMP_UDW,
} from "./regs.ts";

/** Flag: the whole register is read-only. */
export const REG_RO = 1 << 0;
/** Flag: masked register (bits 31:16 enable writes of bits 15:0). */
export const REG_MASKED = 1 << 1;
/** Flag: write 1 to clear. */
export const REG_W1C = 1 << 2;
/** Flag: commands may write it (MI_LOAD_REGISTER_*; gvt F_CMD_ACCESS). */
export const REG_CMD_ACCESS = 1 << 3;
/** Flag: holds a graphics memory address (gvt F_GMADR). */
export const REG_GMADR = 1 << 4;

/** Side-effect classes. */
export const SEM_PLAIN = 0,
  SEM_ELSP = 1,
  SEM_EXECLIST_STATUS = 2,
  SEM_CSB_PTR = 3,
  SEM_TIMESTAMP = 4,
  SEM_IRQ = 5,
  SEM_MASTER_IRQ = 6,
  SEM_GDRST = 7,
  SEM_FORCEWAKE = 8,
  SEM_PIPECONF = 9,
  SEM_DSPSURF = 10,
  SEM_FENCE = 11;

/** One register definition. */
export interface RegDef {
  /** BAR0 offset. */
  readonly offset: number;
  /** i915 name. */
  readonly name: string;
  /** Value after reset. */
  readonly reset: number;
  /** Read-only bits (ignored for REG_RO registers, which are wholly read-only). */
  readonly roMask: number;
  /** REG_* flags. */
  readonly flags: number;
  /** Side-effect class (SEM_*). */
  readonly sem: number;
  /** Engine, pipe, group or fence index the register belongs to (-1 if none). */
  readonly unit: number;
}

const ENGINE_NAMES = ["RCS", "BCS", "VCS", "VECS"];

/** Builds the register table for a GPU with `fences` fence registers. */
export function buildRegisterDefs(fences: number): RegDef[] {
  const d: RegDef[] = [];
  const add = (
    offset: number,
    name: string,
    reset = 0,
    flags = 0,
    sem = SEM_PLAIN,
    unit = -1,
    roMask = 0,
  ) => d.push({ offset, name, reset: reset >>> 0, roMask: roMask >>> 0, flags, sem, unit });

  for (let e = 0; e < 4; e++) {
    const b = RING_BASE[e], n = ENGINE_NAMES[e];
    add(b + RING_TAIL, `${n}_RING_TAIL`, 0, REG_GMADR, SEM_PLAIN, e);
    add(b + RING_HEAD, `${n}_RING_HEAD`, 0, 0, SEM_PLAIN, e);
    add(b + RING_START, `${n}_RING_START`, 0, REG_GMADR, SEM_PLAIN, e);
    add(b + RING_CTL, `${n}_RING_CTL`, 0, 0, SEM_PLAIN, e);
    add(b + RING_ACTHD, `${n}_ACTHD`, 0, REG_RO, SEM_PLAIN, e);
    add(b + RING_ACTHD_UDW, `${n}_ACTHD_UDW`, 0, REG_RO, SEM_PLAIN, e);
    add(b + RING_HWS_PGA, `${n}_HWS_PGA`, 0, REG_GMADR, SEM_PLAIN, e);
    add(b + RING_NOPID, `${n}_NOPID`, 0, REG_CMD_ACCESS, SEM_PLAIN, e);
    add(b + RING_MI_MODE, `${n}_MI_MODE`, MODE_IDLE, REG_MASKED, SEM_PLAIN, e, MODE_IDLE);
    add(b + RING_IMR, `${n}_IMR`, 0xffffffff, 0, SEM_PLAIN, e);
    add(b + RING_INSTPM, `${n}_INSTPM`, 0, REG_MASKED | REG_CMD_ACCESS, SEM_PLAIN, e);
    add(b + RING_BBSTATE, `${n}_BBSTATE`, 0, REG_RO, SEM_PLAIN, e);
    add(b + RING_BBADDR, `${n}_BBADDR`, 0, REG_RO, SEM_PLAIN, e);
    add(b + RING_MODE, `${n}_RING_MODE_GEN7`, 0, REG_MASKED, SEM_PLAIN, e);
    add(b + RING_ELSP, `${n}_ELSP`, 0, 0, SEM_ELSP, e);
    add(b + RING_EXECLIST_STATUS_LO, `${n}_EXECLIST_STATUS_LO`, 0, REG_RO, SEM_EXECLIST_STATUS, e);
    add(b + RING_EXECLIST_STATUS_HI, `${n}_EXECLIST_STATUS_HI`, 0, REG_RO, SEM_EXECLIST_STATUS, e);
    add(b + RING_TIMESTAMP, `${n}_TIMESTAMP`, 0, REG_RO | REG_CMD_ACCESS, SEM_TIMESTAMP, e);
    add(b + RING_TIMESTAMP_UDW, `${n}_TIMESTAMP_UDW`, 0, REG_RO | REG_CMD_ACCESS, SEM_TIMESTAMP, e);
    for (let i = 0; i < CSB_ENTRIES * 2; i++) {
      add(
        b + RING_CONTEXT_STATUS_BUF + 4 * i,
        `${n}_CSB${i >> 1}_${i & 1 ? "HI" : "LO"}`,
        0,
        REG_RO,
        SEM_PLAIN,
        e,
      );
    }
    add(
      b + RING_CONTEXT_STATUS_PTR,
      `${n}_CONTEXT_STATUS_PTR`,
      (CSB_RESET_WRITE_PTR << 8) | CSB_RESET_WRITE_PTR,
      REG_MASKED,
      SEM_CSB_PTR,
      e,
      0xf,
    );
    add(b + RING_CTX_TIMESTAMP, `${n}_CTX_TIMESTAMP`, 0, REG_CMD_ACCESS, SEM_PLAIN, e);
    for (let i = 0; i < 4; i++) {
      add(b + RING_PDP0_LDW + 8 * i, `${n}_PDP${i}_LDW`, 0, 0, SEM_PLAIN, e);
      add(b + RING_PDP0_LDW + 4 + 8 * i, `${n}_PDP${i}_UDW`, 0, 0, SEM_PLAIN, e);
    }
    for (let i = 0; i < 32; i++) {
      add(
        b + RING_GPR0 + 4 * i,
        `${n}_GPR${i >> 1}_${i & 1 ? "UDW" : "LDW"}`,
        0,
        REG_CMD_ACCESS,
        SEM_PLAIN,
        e,
      );
    }
  }
  add(GDRST, "GDRST", 0, 0, SEM_GDRST);
  FORCEWAKE_PAIRS.forEach(([req, ack], i) => {
    add(req, `FORCEWAKE_REQ${i}`, 0, REG_MASKED, SEM_FORCEWAKE, i);
    add(ack, `FORCEWAKE_ACK${i}`, 0, REG_RO, SEM_PLAIN, i);
  });
  for (let i = 0; i < fences; i++) {
    add(FENCE_REG_GEN6_LO + 8 * i, `FENCE_REG_GEN6_LO(${i})`, 0, 0, SEM_FENCE, i);
    add(FENCE_REG_GEN6_LO + 8 * i + 4, `FENCE_REG_GEN6_HI(${i})`, 0, 0, SEM_FENCE, i);
  }
  add(GEN8_MASTER_IRQ, "GEN8_MASTER_IRQ", 0, 0, SEM_MASTER_IRQ, -1, 0x7fffffff);
  IRQ_GROUP_BASE.forEach((base, g) => {
    const n = IRQ_GROUP_NAMES[g];
    add(base + IRQ_ISR, `${n}_ISR`, 0, REG_RO, SEM_IRQ, g);
    add(base + IRQ_IMR, `${n}_IMR`, 0xffffffff, 0, SEM_IRQ, g);
    add(base + IRQ_IIR, `${n}_IIR`, 0, REG_W1C, SEM_IRQ, g);
    add(base + IRQ_IER, `${n}_IER`, 0, 0, SEM_IRQ, g);
  });
  for (let p = 0; p < NUM_PIPES; p++) {
    const s = p * PIPE_STRIDE, n = "ABC"[p];
    add(PIPECONF_A + s, `PIPE${n}CONF`, 0, 0, SEM_PIPECONF, p, PIPECONF_STATE_ENABLE);
    add(PIPE_FRMCOUNT_A + s, `PIPE${n}_FRMCOUNT`, 0, REG_RO, SEM_PLAIN, p);
    add(DSPCNTR_A + s, `DSP${n}CNTR`, 0, 0, SEM_PLAIN, p);
    add(DSPSTRIDE_A + s, `DSP${n}STRIDE`, 0, 0, SEM_PLAIN, p);
    add(DSPSURF_A + s, `DSP${n}SURF`, 0, REG_GMADR, SEM_DSPSURF, p);
    add(DSPSURFLIVE_A + s, `DSP${n}SURFLIVE`, 0, REG_RO, SEM_PLAIN, p);
  }
  // Render registers user space may program from batches (a sample of gvt's F_CMD_ACCESS).
  add(0x7000, "CACHE_MODE_0_GEN7", 0, REG_MASKED | REG_CMD_ACCESS);
  add(0x7004, "CACHE_MODE_1", 0, REG_MASKED | REG_CMD_ACCESS);
  add(0x7008, "GEN7_GT_MODE", 0, REG_MASKED | REG_CMD_ACCESS);
  for (let i = 0; i < 4; i++) add(0x5280 + 4 * i, `GEN7_SO_WRITE_OFFSET(${i})`, 0, REG_CMD_ACCESS);
  add(0x101008, "GFX_FLSH_CNTL_GEN6", 0, 0);
  return d;
}
