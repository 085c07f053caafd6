/**
 * The gen8 interrupt unit: per group ISR / IMR / IIR / IER, and the master register
 * (GEN8_MASTER_IRQ) whose bit 31 enables delivery. An event sets IIR bits it is not
 * masked for (IMR); a group with IIR & IER set asserts its summary bit in the master
 * register; when the master is enabled and any summary bit is set, the line asserts and
 * one MSI is sent (edge: the next MSI needs the line to drop first, as when i915's handler
 * clears master enable, acks IIR and re-enables).
 */

import {
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  IRQ_GROUP_BASE,
  IRQ_GROUPS,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
  IRQ_ISR,
} from "./regs.ts";
import { groupSummary } from "./registers/irq.ts";

/** Interrupt state over the GPU's register array. */
export class IrqUnit {
  /** Events raised, per group. */
  readonly raised: Float64Array = new Float64Array(IRQ_GROUPS);
  /** Events dropped by IMR, per group. */
  readonly masked: Float64Array = new Float64Array(IRQ_GROUPS);
  /** MSIs requested (line assertions). */
  assertions = 0;
  private line = false;

  /**
   * Creates the instance.
   * @param regs the GPU's MMIO dword array
   * @param assert called when the interrupt line goes from deasserted to asserted
   */
  constructor(private readonly regs: Uint32Array, private readonly assert: () => void) {}

  /** Raises `bits` in `group`. */
  raise(group: number, bits: number): void {
    const base = IRQ_GROUP_BASE[group] >> 2;
    const imr = this.regs[base + (IRQ_IMR >> 2)];
    const live = bits & ~imr;
    this.raised[group]++;
    if (live === 0) {
      this.masked[group]++;
      return;
    }
    this.regs[base + (IRQ_IIR >> 2)] |= live;
    this.update();
  }

  /** Summary bits currently asserted in the master register. */
  summary(): number {
    let s = 0;
    const r = this.regs;
    for (let g = 0; g < IRQ_GROUPS; g++) {
      const base = IRQ_GROUP_BASE[g] >> 2;
      const p = r[base + (IRQ_IIR >> 2)] & r[base + (IRQ_IER >> 2)];
      if (p !== 0) s |= groupSummary(g, p);
    }
    return s >>> 0;
  }

  /** Value of GEN8_MASTER_IRQ as read: enable bit plus summary bits. */
  readMaster(): number {
    return ((this.regs[GEN8_MASTER_IRQ >> 2] & GEN8_MASTER_IRQ_CONTROL) | this.summary()) >>> 0;
  }

  /** Recomputes the line after any IIR / IER / IMR / master change. */
  update(): void {
    const enabled = (this.regs[GEN8_MASTER_IRQ >> 2] & GEN8_MASTER_IRQ_CONTROL) !== 0;
    const pending = enabled && this.summary() !== 0;
    if (pending && !this.line) {
      this.line = true;
      this.assertions++;
      this.assert();
    } else if (!pending) this.line = false;
  }

  /** Clears the line state (device reset). */
  reset(): void {
    this.line = false;
  }

  /** ISR offset of a group (for tests and reports). */
  static isrOf(group: number): number {
    return IRQ_GROUP_BASE[group] + IRQ_ISR;
  }
}
