/**
 * The shape of one register-table row (the model's `MMIO_F(reg, size, flags, ..., device,
 * read, write)` of gvt/handlers.c), the access modes and the side-effect classes the
 * hardware model dispatches on. The rows themselves live in the block files next to this
 * one; core/hw/regdefs.ts expands them for one platform.
 */

import type { BitField } from "../bits.ts";

/** How software writes the register. */
export type Access =
  /** Plain read/write. */
  | "rw"
  /** Read-only (writes ignored). */
  | "ro"
  /** Masked: bits 31:16 enable writes of bits 15:0 (F_MODE_MASK). */
  | "masked"
  /** Write 1 to clear. */
  | "w1c";

/** Side-effect class: no side effect (plain storage). */
export const SEM_PLAIN = 0;
/** Side-effect class: execlist submit port. */
export const SEM_ELSP = 1;
/** Side-effect class: execlist status (computed on read). */
export const SEM_EXECLIST_STATUS = 2;
/** Side-effect class: context status buffer pointer. */
export const SEM_CSB_PTR = 3;
/** Side-effect class: free-running timestamp (computed on read). */
export const SEM_TIMESTAMP = 4;
/** Side-effect class: interrupt group register. */
export const SEM_IRQ = 5;
/** Side-effect class: master interrupt control. */
export const SEM_MASTER_IRQ = 6;
/** Side-effect class: GDRST. */
export const SEM_GDRST = 7;
/** Side-effect class: forcewake request (the ACK follows). */
export const SEM_FORCEWAKE = 8;
/** Side-effect class: pipe configuration (starts and stops vblanks). */
export const SEM_PIPECONF = 9;
/** Side-effect class: primary plane surface (arms a flip). */
export const SEM_DSPSURF = 10;
/** Side-effect class: fence register. */
export const SEM_FENCE = 11;

/** One row: a register, or `count` consecutive dwords of one kind. */
export interface RegRow {
  /** i915 name (an engine prefix is added to ring rows; `(i)` to ranges unless `nameOf`). */
  readonly name: string;
  /** BAR0 offset (ring rows: offset from the engine's ring base). */
  readonly offset: number;
  /** Dwords covered (default 1). */
  readonly count?: number;
  /** Name of dword `i` of a range (default `name(i)`). */
  readonly nameOf?: (i: number) => string;
  /** Value after reset (default 0). */
  readonly reset?: number;
  /** Access mode (default "rw"). */
  readonly access?: Access;
  /** Read-only bits of a writable register. */
  readonly roMask?: number;
  /** Named bit fields. */
  readonly fields?: Readonly<Record<string, BitField>>;
  /** Platforms where it exists (D_* mask; default all). */
  readonly exists?: number;
  /** Platforms where commands may write it (F_CMD_ACCESS; D_* mask; default none). */
  readonly cmd?: number;
  /** Holds a graphics memory address (F_GMADR). */
  readonly gmadr?: boolean;
  /** Side-effect class (SEM_*; default plain). */
  readonly sem?: number;
  /** Unit index for the side effect (pipe, group, pair); ring rows use the engine id. */
  readonly unit?: number;
  /**
   * Name of the kind of register, which handler tables bind to (default `name`): one for
   * all pipes' PIPEnCONF ("PIPECONF"), all groups' IIRs ("IRQ_IIR"), and so on.
   */
  readonly group?: string;
}
