/**
 * Template for a new hypervisor backend: the smallest backend that honours the MPT contract
 * (core/mpt/types.ts). Copy it, rename it, and replace each op's body with what your
 * hypervisor does; keep the cost model honest (ns per op, plus `ctx.charge()` for variable
 * work) so results compare with the built-in backends.
 *
 * How a backend is used:
 * - The module's default export is a factory `(ctx) => backend`. `ctx` gives the backend
 *   only what it may touch: `params` (from the scenario), `guestMemory(vgpuId)`, timers
 *   (`after`), `charge`, `count`, `log`, and `deliverMsi` (the guest's interrupt line).
 * - `hostInit(ops)` hands over the core's callbacks: trapped accesses go to
 *   `ops.emulateMmioRead/Write` and `ops.emulateCfgRead/Write`; writes to write-protected
 *   guest pages go to `ops.writeProtectHandler` (and are NOT done by the backend).
 * - `attachVgpu(info)` returns the per-vGPU handle every other op receives.
 * - Required ops: `detachVgpu`, `injectMsi`, `enablePageTrack`, `disablePageTrack`,
 *   `readGpa`, `writeGpa`, `gfnToMfn`, `dmaMapGuestPage`, `dmaUnmapGuestPage`, `isValidGfn`,
 *   and the guest-side trap entry points `guestMmioRead`, `guestMmioWrite`, `guestMemWrite`.
 *   Everything else is optional; the core falls back to generic behaviour and reports which
 *   ops your backend implements natively.
 * - Never throw for guest-caused conditions: return the op's failure value (a negative
 *   errno, false, -1). If a backend does throw, the core records the error (plugin, op, vGPU)
 *   and carries on as if the op failed.
 *
 * This template: traps all of BAR0 (16 MiB) and the config window, delivers MSIs after
 * `msi_latency`, tracks pages in a bitmap, and maps DMA as the host physical address with a
 * per-address refcount. Parameters: any cost name (ns) overrides that cost.
 */

import type {
  BackendContext,
  BackendFactory,
  CostModel,
  GuestMemoryView,
  GvtOps,
  Handle,
  MptBackend,
  VgpuInfo,
} from "../core/mpt/types.ts";
import { MPT_EFAULT, MPT_EINVAL, MPT_ENOMEM, MPT_OK } from "../core/mpt/types.ts";

const BAR0_SIZE = 16 * 1024 * 1024;
const CFG_SIZE = 4096;
const PAGE = 4096;

/** Per-vGPU state: the handle. */
class TemplateVgpu {
  readonly tracked: Uint8Array;
  readonly refs = new Map<number, number>();
  readonly bytes = new Uint8Array(8);
  constructor(readonly info: VgpuInfo, readonly mem: GuestMemoryView) {
    this.tracked = new Uint8Array(mem.frames);
  }
}

/** The template backend factory. */
const createTemplateBackend: BackendFactory = (ctx: BackendContext): MptBackend => {
  const num = (name: string, dflt: number): number => {
    const v = ctx.params[name];
    return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : dflt;
  };
  /** Costs the core charges per call (ns); every name can be overridden by a parameter. */
  const costs: CostModel = {
    attachVgpu: num("attachVgpu", 20_000),
    detachVgpu: num("detachVgpu", 20_000),
    injectMsi: num("injectMsi", 1_000),
    enablePageTrack: num("enablePageTrack", 1_000),
    disablePageTrack: num("disablePageTrack", 1_000),
    readGpa: num("readGpa", 300),
    writeGpa: num("writeGpa", 300),
    gfnToMfn: num("gfnToMfn", 200),
    dmaMapGuestPage: num("dmaMapGuestPage", 800),
    dmaUnmapGuestPage: num("dmaUnmapGuestPage", 500),
    isValidGfn: num("isValidGfn", 100),
    guestMmioRead: num("guestMmioRead", 4_000),
    guestMmioWrite: num("guestMmioWrite", 4_000),
    guestMemWrite: 0,
    page_track_fault: num("page_track_fault", 3_000),
    msi_latency: num("msi_latency", 2_000),
  };
  let ops: GvtOps | null = null;
  const st = (h: Handle): TemplateVgpu => h as TemplateVgpu;
  const backed = (v: TemplateVgpu, gfn: number): boolean =>
    v.mem.isBacked !== undefined ? v.mem.isBacked(gfn) : v.mem.mfnOf(gfn) >= 0;

  return {
    name: "template",
    costs,
    hostInit(o: GvtOps): void {
      ops = o;
    },
    hostExit(): void {
      ops = null;
    },
    attachVgpu(info: VgpuInfo): Handle {
      return new TemplateVgpu(info, ctx.guestMemory(info.id));
    },
    detachVgpu(h: Handle): void {
      st(h).refs.clear();
      st(h).tracked.fill(0);
    },
    injectMsi(h: Handle, addr: number, data: number): boolean {
      ctx.deliverMsi(st(h).info.id, addr, data, costs.msi_latency);
      return true;
    },
    enablePageTrack(h: Handle, gfn: number): number {
      if (!backed(st(h), gfn)) return MPT_EINVAL;
      st(h).tracked[gfn] = 1;
      return MPT_OK;
    },
    disablePageTrack(h: Handle, gfn: number): number {
      if (!backed(st(h), gfn)) return MPT_EINVAL;
      st(h).tracked[gfn] = 0;
      return MPT_OK;
    },
    readGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return st(h).mem.read(gpa, buf) ? MPT_OK : MPT_EFAULT;
    },
    writeGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return st(h).mem.write(gpa, buf) ? MPT_OK : MPT_EFAULT;
    },
    gfnToMfn(h: Handle, gfn: number): number {
      return backed(st(h), gfn) ? st(h).mem.mfnOf(gfn) : -1;
    },
    dmaMapGuestPage(h: Handle, gfn: number, size: number): number {
      const v = st(h);
      if (size !== PAGE || !backed(v, gfn)) return MPT_EINVAL;
      const m = v.mem.mfnOf(gfn);
      if (m < 0) return MPT_ENOMEM;
      const dma = m * PAGE;
      v.refs.set(dma, (v.refs.get(dma) ?? 0) + 1);
      return dma;
    },
    dmaUnmapGuestPage(h: Handle, dma: number): void {
      const r = st(h).refs.get(dma);
      if (r === undefined) return;
      if (r <= 1) st(h).refs.delete(dma);
      else st(h).refs.set(dma, r - 1);
    },
    isValidGfn(h: Handle, gfn: number): boolean {
      return backed(st(h), gfn);
    },
    guestMmioRead(h: Handle, gpa: number, size: number): number {
      const v = st(h);
      if (ops === null) return 2 ** (8 * Math.min(size, 6)) - 1;
      if (gpa >= v.info.bar0 && gpa + size <= v.info.bar0 + BAR0_SIZE) {
        return ops.emulateMmioRead(v.info.id, gpa - v.info.bar0, size);
      }
      const cfg = v.info.cfg;
      if (cfg !== undefined && gpa >= cfg && gpa + size <= cfg + CFG_SIZE) {
        return ops.emulateCfgRead(v.info.id, gpa - cfg, size);
      }
      return 2 ** (8 * Math.min(size, 6)) - 1;
    },
    guestMmioWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      if (ops === null) return;
      if (gpa >= v.info.bar0 && gpa + size <= v.info.bar0 + BAR0_SIZE) {
        ops.emulateMmioWrite(v.info.id, gpa - v.info.bar0, size, value);
        return;
      }
      const cfg = v.info.cfg;
      if (cfg !== undefined && gpa >= cfg && gpa + size <= cfg + CFG_SIZE) {
        ops.emulateCfgWrite(v.info.id, gpa - cfg, size, value);
      }
    },
    guestMemWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      const gfn = Math.floor(gpa / PAGE);
      if (v.tracked[gfn] === 1 && ops !== null) {
        ctx.charge(costs.page_track_fault);
        ops.writeProtectHandler(v.info.id, gpa, size, value);
        return;
      }
      const b = v.bytes.subarray(0, Math.min(Math.max(size, 1), 8));
      let x = value;
      for (let i = 0; i < b.length; i++) {
        b[i] = x % 256;
        x = Math.floor(x / 256);
      }
      v.mem.write(gpa, b);
    },
  };
};

export default createTemplateBackend;
