/**
 * template: the smallest hypervisor backend that honours the whole MPT contract and passes the
 * conformance kit. `gvtsim plugin new NAME` copies this file (importing the contract by package
 * name, `@gvtsim/gvtsim/mpt`, instead of the relative path below); replace each op's body with
 * what your hypervisor does and keep the cost model honest (integer ns per op, plus
 * `ctx.charge()` for variable work).
 *
 * - The default export is a factory `(ctx) => backend`. `ctx` gives only what a backend may
 *   touch: `params` (from the scenario), `guestMemory(vgpuId)`, `after` (timers), `charge`,
 *   `count`, `log` and `deliverMsi` (the guest's interrupt line).
 * - `contract` names the version of the MPT contract the backend was written for; the loader
 *   refuses a backend written for another one.
 * - `hostInit(ops)` hands over the mediator's callbacks: trapped BAR0 accesses go to
 *   `ops.emulateMmioRead/Write` (offset from the start of BAR0), config space to
 *   `ops.emulateCfgRead/Write`, writes to write-protected guest pages to
 *   `ops.writeProtectHandler` (the backend must NOT do those writes itself), and the vGPU's
 *   life cycle (`ops.vgpuReset`, `ops.vgpuActivate`, `ops.vgpuDeactivate`) when the
 *   hypervisor sees a reset or a VM pause.
 * - `attachVgpu(info)` returns the handle every other op receives. Keep all per-vGPU state in
 *   it (never in the factory's closure keyed by vGPU id), and make `detachVgpu` leave nothing
 *   behind: the conformance kit uses the old handle after detach and attaches two vGPUs at
 *   once.
 * - Never throw for guest-caused conditions: return the op's failure value (a negative errno,
 *   false, -1, all ones). docs/plugins.md in gvtsim has the contract op by op.
 *
 * What this backend does: traps the BAR0 range `setTrapArea` claimed and the config window,
 * follows the guest's MSI enable bit from config writes of any width (MSIs are dropped while
 * disabled), tracks pages in a bitmap, maps DMA as the host physical address (identity IOMMU)
 * with a refcount per address (a 2 MiB mapping only over contiguous, 2 MiB aligned frames),
 * copies guest memory directly, saves and restores its state. Every cost can be overridden by
 * a parameter of the same name.
 */

import {
  type BackendContext,
  type BackendFactory,
  bool,
  copyGpa,
  type CostModel,
  costParam,
  forwardCfgWrite,
  gfnBacked,
  type GuestMemoryView,
  GuestStore,
  type GvtOps,
  type Handle,
  hostDmaAddress,
  LazyInt32Array,
  loadSparseFrames,
  MPT_CONTRACT_VERSION,
  MPT_EINVAL,
  MPT_ENOMEM,
  MPT_OK,
  type MptBackend,
  num,
  PAGE_SIZE,
  PAGE_SIZE_2M,
  PCI_CFG_SPACE_EXP_SIZE,
  record,
  rows,
  sparseFrames,
  TrapArea,
  type VgpuInfo,
} from "../mpt.ts";

const BAR0_SIZE = 16 * 1024 * 1024;

/** Per-vGPU state: the handle. */
class VgpuState {
  /** 1 for write-protected guest frames. */
  readonly tracked: LazyInt32Array;
  /** DMA address -> [references, size]. */
  readonly refs = new Map<number, number[]>();
  /** Claimed BAR0 range (empty until setTrapArea). */
  readonly trap = new TrapArea(BAR0_SIZE);
  /** MSI capability offset (found on the first config write) and enable bit. */
  msiCap = -1;
  msiEnabled = false;
  /** Advanced Features capability offset (FLR), -1 if none (found with msiCap). */
  afCap = -1;
  /** Set by detachVgpu: the handle answers nothing any more. */
  detached = false;
  readonly store = new GuestStore();

  constructor(readonly info: VgpuInfo, readonly mem: GuestMemoryView) {
    this.tracked = new LazyInt32Array(mem.frames, 0);
  }
}

/** The template backend factory. */
const create: BackendFactory = (ctx: BackendContext): MptBackend => {
  const cost = (name: string, dflt: number): number => costParam(ctx.params, name, dflt);
  /** Costs the core charges per call (ns); each can be overridden by a parameter. */
  const costs: CostModel = {
    attachVgpu: cost("attachVgpu", 20_000),
    detachVgpu: cost("detachVgpu", 20_000),
    injectMsi: cost("injectMsi", 1_000),
    enablePageTrack: cost("enablePageTrack", 1_000),
    disablePageTrack: cost("disablePageTrack", 1_000),
    readGpa: cost("readGpa", 300),
    writeGpa: cost("writeGpa", 300),
    gfnToMfn: cost("gfnToMfn", 200),
    dmaMapGuestPage: cost("dmaMapGuestPage", 800),
    dmaUnmapGuestPage: cost("dmaUnmapGuestPage", 500),
    dmaPinGuestPage: cost("dmaPinGuestPage", 100),
    setTrapArea: cost("setTrapArea", 2_000),
    isValidGfn: cost("isValidGfn", 100),
    guestMmioRead: cost("guestMmioRead", 4_000),
    guestMmioWrite: cost("guestMmioWrite", 4_000),
    guestMemWrite: 0,
    /** A guest write to a write-protected page (fault + emulation), charged per trap. */
    page_track_fault: cost("page_track_fault", 3_000),
    /** From injectMsi until the guest takes the interrupt. */
    msi_latency: cost("msi_latency", 2_000),
  };
  let ops: GvtOps | null = null;
  const st = (h: Handle): VgpuState => h as VgpuState;
  const backed = (v: VgpuState, gfn: number): boolean => gfnBacked(v.mem, gfn);
  const ones = (size: number): number => size >= 8 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * size) - 1;
  const inCfg = (v: VgpuState, gpa: number, size: number): boolean =>
    v.info.cfg !== undefined && gpa >= v.info.cfg &&
    gpa + size <= v.info.cfg + PCI_CFG_SPACE_EXP_SIZE;
  const validSize = (size: number) => size === 1 || size === 2 || size === 4 || size === 8;

  return {
    name: "template",
    contract: MPT_CONTRACT_VERSION,
    costs,
    hostInit(o: GvtOps): void {
      ops = o;
    },
    hostExit(): void {
      ops = null;
    },
    attachVgpu(info: VgpuInfo): Handle {
      return new VgpuState(info, ctx.guestMemory(info.id));
    },
    detachVgpu(h: Handle): void {
      const v = st(h);
      v.detached = true;
      v.refs.clear();
      v.tracked.clear();
      v.trap.clear();
      v.msiEnabled = false;
    },
    injectMsi(h: Handle, addr: number, data: number): boolean {
      const v = st(h);
      if (!v.msiEnabled || v.detached) return false; // the guest has not enabled MSI: drop it
      ctx.deliverMsi(v.info.id, addr, data, costs.msi_latency);
      return true;
    },
    enablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (v.detached || !backed(v, gfn)) return MPT_EINVAL;
      v.tracked.set(gfn, 1);
      return MPT_OK;
    },
    disablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (v.detached || !backed(v, gfn)) return MPT_EINVAL;
      v.tracked.set(gfn, 0);
      return MPT_OK;
    },
    readGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return copyGpa(ctx, st(h).mem, gpa, buf, false, 0); // the declared cost covers it
    },
    writeGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return copyGpa(ctx, st(h).mem, gpa, buf, true, 0);
    },
    gfnToMfn(h: Handle, gfn: number): number {
      return backed(st(h), gfn) ? st(h).mem.mfnOf(gfn) : -1;
    },
    dmaMapGuestPage(h: Handle, gfn: number, size: number): number {
      const v = st(h);
      if (v.detached || (size !== PAGE_SIZE && size !== PAGE_SIZE_2M)) return MPT_EINVAL;
      const dma = hostDmaAddress(v.mem, gfn, size); // identity IOMMU: the host address
      if (dma < 0) return dma;
      const r = v.refs.get(dma);
      if (r !== undefined && r[1] !== size) return MPT_ENOMEM; // mapped with the other size
      if (r !== undefined) r[0]++;
      else v.refs.set(dma, [1, size]);
      return dma;
    },
    dmaUnmapGuestPage(h: Handle, dma: number): void {
      const v = st(h);
      const r = v.refs.get(dma);
      if (r === undefined) return;
      if (r[0] <= 1) v.refs.delete(dma);
      else r[0]--;
    },
    dmaPinGuestPage(h: Handle, dma: number): number {
      const r = st(h).refs.get(dma);
      if (r === undefined) return MPT_EINVAL;
      r[0]++;
      return MPT_OK;
    },
    setTrapArea(h: Handle, start: number, end: number, map: boolean): number {
      const v = st(h);
      return v.detached ? MPT_EINVAL : v.trap.set(start, end, map);
    },
    isValidGfn(h: Handle, gfn: number): boolean {
      return backed(st(h), gfn);
    },
    guestMmioRead(h: Handle, gpa: number, size: number): number {
      const v = st(h);
      if (ops === null || v.detached || !validSize(size)) return ones(size);
      // an access is trapped only when all of its bytes are inside the range
      if (v.trap.covers(gpa, size)) return ops.emulateMmioRead(v.info.id, gpa - v.trap.start, size);
      if (inCfg(v, gpa, size)) return ops.emulateCfgRead(v.info.id, gpa - v.info.cfg!, size);
      return ones(size);
    },
    guestMmioWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      const o = ops;
      if (o === null || v.detached || !validSize(size)) return;
      if (v.trap.covers(gpa, size)) {
        o.emulateMmioWrite(v.info.id, gpa - v.trap.start, size, value);
      } else if (inCfg(v, gpa, size)) {
        // config writes of any width: follow the MSI enable bit, pass a guest's FLR on
        const e = forwardCfgWrite(o, v.info.id, v, gpa - v.info.cfg!, size, value);
        if (e === "flr") {
          v.msiEnabled = false; // the device comes out of reset with MSI off
          o.vgpuReset(v.info.id); // a function-level reset is the device model's job
        } else if (e !== "none") v.msiEnabled = e === "msi-on";
      }
    },
    guestMemWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      if (v.detached || !validSize(size)) return;
      const gfn = Math.floor(gpa / PAGE_SIZE);
      if (gfn >= 0 && gfn < v.tracked.length && v.tracked.get(gfn) === 1 && ops !== null) {
        ctx.charge(costs.page_track_fault);
        ops.writeProtectHandler(v.info.id, gpa, size, value);
        return;
      }
      v.store.write(v.mem, gpa, size, value);
    },
    save(h: Handle): unknown {
      const v = st(h);
      return {
        tracked: sparseFrames(v.tracked),
        refs: [...v.refs].map(([dma, [n, size]]) => [dma, n, size]),
        trapStart: v.trap.start,
        trapEnd: v.trap.end,
        msiCap: v.msiCap,
        afCap: v.afCap,
        msiEnabled: v.msiEnabled,
        detached: v.detached,
      };
    },
    restore(h: Handle, state: unknown): void {
      const v = st(h), s = record(state);
      loadSparseFrames(v.tracked, s.tracked, "tracked pages");
      v.refs.clear();
      for (const [dma, n, size] of rows(s, "refs", 3)) v.refs.set(dma, [n, size]);
      v.trap.start = num(s, "trapStart");
      v.trap.end = num(s, "trapEnd");
      v.msiCap = num(s, "msiCap");
      v.afCap = num(s, "afCap");
      v.msiEnabled = bool(s, "msiEnabled");
      v.detached = bool(s, "detached");
    },
  };
};

export default create;
