/**
 * Virtual interrupts (docs/domain.md section 8, i915 gvt/interrupt.c): each vGPU has virtual
 * ISR/IMR/IIR/IER per interrupt group in its vreg. Triggering an event sets IIR unless IMR
 * masks it; groups with IIR & IER set their summary bit in the master register; with the
 * master enable bit on and any summary bit set, the guest's MSI is injected through the MPT
 * gate (address and data from the guest's virtual MSI capability).
 */

import {
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  IRQ_GROUP_BASE,
  IRQ_GROUPS,
  IRQ_IER,
  IRQ_IIR,
  IRQ_IMR,
} from "../hw/regs.ts";
import { groupSummary, IRQ_SUMMARY_BITS } from "../hw/registers/irq.ts";
import type { MptGate } from "../mpt/gate.ts";
import { msiAddress, msiData, msiEnabled } from "./cfg.ts";
import type { GvtTracer } from "./tracer.ts";
import type { Vgpu } from "./vgpu_state.ts";

const MASTER = GEN8_MASTER_IRQ >>> 2;
const IIR_IDX = Int32Array.from(IRQ_GROUP_BASE, (b) => (b + IRQ_IIR) >>> 2);
const IER_IDX = Int32Array.from(IRQ_GROUP_BASE, (b) => (b + IRQ_IER) >>> 2);
const IMR_IDX = Int32Array.from(IRQ_GROUP_BASE, (b) => (b + IRQ_IMR) >>> 2);
/** The virtual interrupt controller shared by all vGPUs. */
export class VirtualIrq {
  /** Trace hooks (null: not tracing). */
  tracer: GvtTracer | null = null;

  /** Creates a VirtualIrq.
   * @param gate the MPT gate used to inject MSIs */
  constructor(private readonly gate: MptGate) {}

  /** Raises event `bits` of `group` (`intel_vgpu_trigger_virtual_event`). */
  trigger(v: Vgpu, group: number, bits: number): void {
    const c = v.counters;
    c.irqRaised++;
    const r = v.vreg;
    if ((r[IMR_IDX[group]] & bits) === bits) {
      c.irqMasked++;
      return;
    }
    r[IIR_IDX[group]] |= bits & ~r[IMR_IDX[group]];
    if (this.tracer !== null) this.tracer.irq(v.id, group, bits);
    this.update(v, true);
  }

  /**
   * Recomputes the master summary bits from every group; injects the MSI when `inject`
   * and the master is enabled with something pending (`gen8_check_pending_irq`).
   */
  update(v: Vgpu, inject: boolean): void {
    const r = v.vreg;
    let summary = 0;
    for (let g = 0; g < IRQ_GROUPS; g++) summary |= groupSummary(g, r[IIR_IDX[g]] & r[IER_IDX[g]]);
    r[MASTER] = ((r[MASTER] & ~IRQ_SUMMARY_BITS) | summary) >>> 0;
    if (inject && (r[MASTER] & GEN8_MASTER_IRQ_CONTROL) !== 0 && summary !== 0) this.inject(v);
  }

  /** Guest write to the master register: only the enable bit is writable. */
  writeMaster(v: Vgpu, value: number): void {
    const r = v.vreg;
    r[MASTER] = ((r[MASTER] & ~GEN8_MASTER_IRQ_CONTROL) | (value & GEN8_MASTER_IRQ_CONTROL)) >>>
      0;
    this.update(v, true);
  }

  /** Guest write to an IMR. */
  writeImr(v: Vgpu, index: number, value: number): void {
    v.vreg[index] = value >>> 0;
    this.update(v, true);
  }

  /** Guest write to an IER. */
  writeIer(v: Vgpu, index: number, value: number): void {
    v.vreg[index] = value >>> 0;
    this.update(v, true);
  }

  /** Guest write to an IIR: write 1 to clear. */
  writeIir(v: Vgpu, index: number, value: number): void {
    v.vreg[index] = (v.vreg[index] & ~value) >>> 0;
    this.update(v, false);
  }

  /** Injects the guest's MSI through the gate (dropped when the guest disabled MSI). */
  inject(v: Vgpu): void {
    const c = v.counters;
    if (!msiEnabled(v.vcfg)) {
      c.msiDropped++;
      if (this.tracer !== null) this.tracer.msi(v.id, false);
      return;
    }
    const ok = this.gate.injectMsi(v.id, msiAddress(v.vcfg), msiData(v.vcfg));
    if (ok) c.msiInjected++;
    else c.msiDropped++;
    if (this.tracer !== null) this.tracer.msi(v.id, ok);
  }
}
