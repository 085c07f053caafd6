/**
 * Interrupt registers (gen8+): the master control and, per interrupt group, ISR / IMR / IIR /
 * IER at +0 / +4 / +8 / +0xc, with the summary bit each group raises in the master.
 *
 * Sources (Linux drivers/gpu/drm/i915/): i915_reg.h (GEN8_MASTER_IRQ, GEN8_GT_ISR(n),
 * GEN8_DE_PIPE_ISR(pipe), GEN8_DE_PORT_ISR, GEN8_DE_MISC_ISR, GEN8_PCU_ISR, SDEISR, the
 * GEN8_*_IRQ master bits), gvt/handlers.c `init_bdw_mmio_info` (which groups are emulated),
 * gvt/interrupt.c (IIR write-1-to-clear, master enable bit 31).
 */

import { bit, field } from "../bits.ts";
import { type RegRow, SEM_IRQ, SEM_MASTER_IRQ } from "./row.ts";

/** GEN8_MASTER_IRQ. */
export const GEN8_MASTER_IRQ = 0x44200;

/** GEN8_MASTER_IRQ fields. */
export const MASTER_IRQ_FIELDS = {
  /** GEN8_MASTER_IRQ_CONTROL: interrupts delivered. */
  control: bit(31),
} as const;

/** Offsets inside a group. */
export const IRQ_ISR = 0x0, IRQ_IMR = 0x4, IRQ_IIR = 0x8, IRQ_IER = 0xc;

/** One interrupt group. */
export interface IrqGroup {
  /** Name for reports ("GT0", "PIPE_A", ...). */
  readonly name: string;
  /** ISR offset. */
  readonly base: number;
  /** Master summary bit raised by the group's low 16 bits. */
  readonly summaryLo: number;
  /** Master summary bit raised by the high 16 bits. */
  readonly summaryHi: number;
}

/** The interrupt groups; a group's index is its id. */
export const IRQ_GROUP_TABLE: readonly IrqGroup[] = [
  { name: "GT0", base: 0x44300, summaryLo: 1 << 0, summaryHi: 1 << 1 }, // RCS, BCS
  { name: "GT1", base: 0x44310, summaryLo: 1 << 2, summaryHi: 1 << 3 }, // VCS0, VCS1
  { name: "GT2", base: 0x44320, summaryLo: 1 << 4, summaryHi: 1 << 4 }, // PM
  { name: "GT3", base: 0x44330, summaryLo: 1 << 6, summaryHi: 1 << 6 }, // VECS
  { name: "PIPE_A", base: 0x44400, summaryLo: 1 << 16, summaryHi: 1 << 16 },
  { name: "PIPE_B", base: 0x44410, summaryLo: 1 << 17, summaryHi: 1 << 17 },
  { name: "PIPE_C", base: 0x44420, summaryLo: 1 << 18, summaryHi: 1 << 18 },
  { name: "DE_PORT", base: 0x44440, summaryLo: 1 << 20, summaryHi: 1 << 20 },
  { name: "DE_MISC", base: 0x44460, summaryLo: 1 << 22, summaryHi: 1 << 22 },
  { name: "PCU", base: 0x444e0, summaryLo: 1 << 30, summaryHi: 1 << 30 },
  { name: "PCH", base: 0xc4000, summaryLo: 1 << 23, summaryHi: 1 << 23 },
];

/** The halves of a group register: GT0 and GT1 hold two engines' 16 bits each. */
const GROUP_LO = field(15, 0), GROUP_HI = field(31, 16);
const SUMMARY_LO = Int32Array.from(IRQ_GROUP_TABLE, (g) => g.summaryLo);
const SUMMARY_HI = Int32Array.from(IRQ_GROUP_TABLE, (g) => g.summaryHi);

/** Every master summary bit (the master register's bits the groups own). */
export const IRQ_SUMMARY_BITS: number = IRQ_GROUP_TABLE.reduce(
  (m, g) => m | g.summaryLo | g.summaryHi,
  0,
) >>> 0;

/**
 * The master summary bits group `group` raises for its pending bits `pending` (IIR & IER):
 * gvt/interrupt.c `update_upstream_irq`, i915 `gen8_gt_irq_handler`.
 */
export function groupSummary(group: number, pending: number): number {
  return ((pending & GROUP_LO.mask) !== 0 ? SUMMARY_LO[group] : 0) |
    ((pending & GROUP_HI.mask) !== 0 ? SUMMARY_HI[group] : 0);
}

/** The interrupt rows. */
export const IRQ_ROWS: readonly RegRow[] = [
  {
    name: "GEN8_MASTER_IRQ",
    offset: GEN8_MASTER_IRQ,
    roMask: 0x7fffffff,
    sem: SEM_MASTER_IRQ,
    fields: MASTER_IRQ_FIELDS,
  },
  ...IRQ_GROUP_TABLE.flatMap((g, i): RegRow[] => [
    {
      name: `${g.name}_ISR`,
      group: "IRQ_ISR",
      offset: g.base + IRQ_ISR,
      access: "ro",
      sem: SEM_IRQ,
      unit: i,
    },
    {
      name: `${g.name}_IMR`,
      group: "IRQ_IMR",
      offset: g.base + IRQ_IMR,
      reset: 0xffffffff,
      sem: SEM_IRQ,
      unit: i,
    },
    {
      name: `${g.name}_IIR`,
      group: "IRQ_IIR",
      offset: g.base + IRQ_IIR,
      access: "w1c",
      sem: SEM_IRQ,
      unit: i,
    },
    { name: `${g.name}_IER`, group: "IRQ_IER", offset: g.base + IRQ_IER, sem: SEM_IRQ, unit: i },
  ]),
];
