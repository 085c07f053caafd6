/**
 * XenGT-like backend (Xen HVM guest, GVT-g mediator in dom0), after the `xengt.c` MPT
 * module of intel/gvt-linux and Xen's ioreq-server / dm_op interfaces.
 *
 * - Trap path: one *ioreq server* per VM, created at attach (`XEN_DMOP_create_ioreq_server`),
 *   with one slot per vCPU in its shared ioreq page and one event channel per vCPU. A trapped
 *   access exits to Xen, which decodes it (`hvm_exit`), fills the issuing vCPU's slot and
 *   signals its event channel (`ioreq_send`); dom0 takes the upcall and wakes the per-VM
 *   emulation thread (`evtchn_upcall`), which reads and dispatches the request
 *   (`ioreq_handle`), writes the result, sets `STATE_IORESP_READY` and notifies back; Xen
 *   resumes the blocked vCPU (`ioresp_notify`). Accesses pass whole (1, 2, 4 or 8 bytes; no
 *   splitting). The guest model does not say which vCPU issued an access, so accesses are
 *   spread round robin over the vCPUs; each uses its own slot (counted `ioreq_slot_<n>`).
 * - BAR0 is claimed for the ioreq server by `setTrapArea` (`XEN_DMOP_map_io_range_to_ioreq_
 *   server`). Before that, or outside the claimed range, Xen finds no server for the access:
 *   it is not trapped, reads float high (all ones), writes are discarded, and it is counted
 *   `unhandled_mmio`. The device's config space is claimed at attach (PCI BDF mapped to the
 *   server), and config writes let the backend follow the guest's MSI enable bit.
 * - Write protection: the page's p2m type is changed to `p2m_ioreq_server`
 *   (`XEN_DMOP_set_mem_type`, `set_mem_type`); a guest write to such a page faults
 *   (`p2m_ioreq_fault`) and travels the same ioreq round trip to the write-protect handler.
 * - MSI: a `XEN_DMOP_inject_msi` hypercall (`dm_op`); Xen's vlapic delivers it after
 *   `msi_latency`. Dropped (false) while the guest has MSI disabled or the domain crashed.
 * - `gfnToMfn`: a translation hypercall per call (`gfn_to_mfn_hypercall`). The gfn is logged
 *   dirty (the GPU may write it); `vgpuDescheduled` flushes the dirty log with one
 *   `XEN_DMOP_modified_memory` hypercall (`dirty_flush` + `dirty_flush_per_extent` per
 *   contiguous run), so live migration sees GPU-written pages.
 * - DMA: identity (no IOMMU in dom0's view): the device address is the machine address of
 *   the gfn. Nothing is pinned (Xen never moves HVM RAM); the backend keeps a per-address
 *   reference count only so map/pin/unmap balance can be checked. DMA-mapped gfns are logged
 *   dirty too.
 * - `mapGfnToMfn` (aperture): `XEN_DOMCTL_memory_mapping` in chunks of 64 pages
 *   (`domctl_mapping` + `domctl_per_page`); Xen answers -E2BIG for a chunk above its limit
 *   (parameter `domctl_max_pages`, default 64), and the chunk is halved and retried; the
 *   halved size is kept for the rest of the range.
 * - Guest memory (`readGpa`/`writeGpa`): through a foreign mapping of all guest RAM, built
 *   lazily on the first access (`foreign_map_base` + `foreign_map_per_mib`), then a memcpy
 *   (`gpa_copy_per_kib`).
 * - Emulation errors: an access the ioreq handler cannot decode (a size other than 1, 2, 4
 *   or 8, or one crossing the end of BAR0), a busy slot, or an exception from the core's
 *   emulation pauses and crashes the domain (counted `domain_crashed`). A crashed domain's
 *   vCPUs no longer run: further guest accesses are ignored (`paused_domain_access`), MSIs
 *   are dropped, page-track changes fail. `crashed(vgpuId)` tells the core, and
 *   `opFailed(vgpuId, op)` lets the core report an injected fault on a trap-path op, which
 *   Xen treats as an emulation error too.
 * - After a crash the toolstack acts as the domain's `on_crash` setting says (parameter
 *   `on_crash`): `preserve` (default) keeps the crashed domain paused; `destroy` destroys it
 *   `crash_teardown` later (default 50 ms: libxl's watch fires, the domain is torn down),
 *   destroying its vGPU through `GvtOps.vgpuDestroy` (`xengt_vgpu_destroy`); `restart` then
 *   creates the domain again with a vGPU of the same type (`GvtOps.vgpuCreate`): the guest
 *   boots afresh. Counted `domain_destroyed`, `domain_restarted` (`domain_restart_failed`).
 *
 * Parameters: any cost name below (ns) overrides that cost; `domctl_max_pages`, `on_crash`
 * and `crash_teardown` as above.
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
import {
  MPT_CONTRACT_VERSION,
  MPT_EINVAL,
  MPT_EIO,
  MPT_OK,
  PAGE_SIZE,
  PAGE_SIZE_2M,
} from "../core/mpt/types.ts";
import {
  allOnes,
  bool,
  loadSparseFrames,
  num,
  packNumbers,
  record,
  rows,
  sparseFrames,
  unpackNumbers,
} from "../core/mpt/saved_state.ts";
import { forwardCfgWrite, PCI_CFG_SPACE_EXP_SIZE } from "../core/mpt/pci.ts";
import { LazyInt32Array } from "../core/hw/lazy_array.ts";
import {
  copyGpa,
  costParam,
  declareDefaultCosts,
  gfnBacked,
  GuestStore,
  hostDmaAddress,
  TrapArea,
} from "../core/mpt/backend_helpers.ts";

/** Default costs (ns) of the XenGT paths, each with the reason for its size. */
export const XEN_DEFAULT_COSTS: Readonly<Record<string, number>> = {
  /** VM exit and Xen's instruction emulator decoding the MMIO access (hvmemul). */
  hvm_exit: 1_200,
  /** Filling the vCPU's ioreq slot, STATE_IOREQ_READY, event-channel send. */
  ioreq_send: 300,
  /** dom0 event-channel upcall and waking the per-VM emulation thread (a dom0 vCPU must be
   * scheduled: the main extra cost over KVM, where QEMU runs on the exiting thread). */
  evtchn_upcall: 2_500,
  /** The emulation thread reading, decoding and dispatching one request. */
  ioreq_handle: 200,
  /** IORESP_READY, notify back, Xen's hvm_io_assist and resuming the blocked vCPU. */
  ioresp_notify: 1_800,
  /** EPT violation on a p2m_ioreq_server page, before the ioreq is built. */
  p2m_ioreq_fault: 800,
  /** XEN_DMOP_set_mem_type: p2m type change of one page plus a TLB flush. */
  set_mem_type: 1_500,
  /** One dm_op hypercall from dom0 (inject_msi). */
  dm_op: 800,
  /** hvm_inject_msi until the guest vCPU takes the interrupt (vlapic, IPI to its pCPU). */
  msi_latency: 1_000,
  /** gfn to mfn translation hypercall (a p2m lookup in Xen) from dom0. */
  gfn_to_mfn_hypercall: 700,
  /** Validity query of a gfn: the same p2m lookup hypercall. */
  gfn_query: 600,
  /** XEN_DMOP_modified_memory hypercall flushing the dirty log. */
  dirty_flush: 1_500,
  /** ... plus per contiguous extent of dirty gfns (p2m log-dirty bitmap updates). */
  dirty_flush_per_extent: 100,
  /** XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY / OFF (p2m of all RAM switched to log-dirty). */
  logdirty_toggle: 30_000,
  /** XEN_DOMCTL_SHADOW_OP_CLEAN: the hypercall and the bitmap copy. */
  logdirty_clean: 15_000,
  /** ... plus resetting each dirty page to read-only in the p2m. */
  logdirty_per_page: 60,
  /** Building the foreign mapping of guest RAM: fixed part (privcmd, VMA setup). */
  foreign_map_base: 40_000,
  /** ... plus per MiB of guest RAM (256 p2m lookups and PTE installs). */
  foreign_map_per_mib: 1_500,
  /** Declared cost of readGpa/writeGpa through an established mapping. */
  gpa_access: 100,
  /** memcpy per KiB through the foreign mapping. */
  gpa_copy_per_kib: 30,
  /** One XEN_DOMCTL_memory_mapping hypercall (also charged for an -E2BIG answer). */
  domctl_mapping: 3_000,
  /** ... plus per page mapped (p2m entry update). */
  domctl_per_page: 50,
  /** DMA map/unmap/pin bookkeeping (identity mapping, no IOMMU programming). */
  dma_identity: 100,
  /** Creating the ioreq server, mapping its pages, claiming the device's config space. */
  ioreq_server_create: 150_000,
  /** Binding one vCPU's event channel to the emulation thread. */
  evtchn_bind: 5_000,
  /** Destroying the ioreq server and unbinding its event channels. */
  ioreq_server_destroy: 80_000,
  /** Unmapping the foreign mapping of guest RAM at detach (if it was built). */
  foreign_unmap: 20_000,
  /** XEN_DMOP_map_io_range_to_ioreq_server (claim or release BAR0). */
  map_io_range: 2_000,
  /** Mapping the virtual OpRegion pages into the guest (two-page memory mapping). */
  opregion_map: 10_000,
};

/** Default time from a domain crash to the toolstack destroying it (`on_crash`), ns. */
export const CRASH_TEARDOWN_NS = 50_000_000;

/** Default largest chunk (pages) XEN_DOMCTL_memory_mapping accepts before -E2BIG. */
export const XEN_DOMCTL_MAX_PAGES = 64;

const MiB = 1024 * 1024;
const BAR0_SIZE = 16 * MiB;
const CHUNK = 64;

/** Slot states of a shared ioreq page (xen/include/public/hvm/ioreq.h). */
export const STATE_IOREQ_NONE = 0;
/** A request is ready for the ioreq server. */
export const STATE_IOREQ_READY = 1;
/** The ioreq server is handling the request. */
export const STATE_IOREQ_INPROCESS = 2;
/** The response is ready for Xen. */
export const STATE_IORESP_READY = 3;

/** Request types. */
const IOREQ_TYPE_COPY = 1;
const IOREQ_TYPE_PCI_CONFIG = 2;

/** One vCPU's slot of the shared ioreq page (`struct ioreq`). */
class IoreqSlot {
  state = STATE_IOREQ_NONE;
  type = IOREQ_TYPE_COPY;
  addr = 0;
  size = 0;
  dir = 0;
  data = 0;
  constructor(readonly port: number) {}
}

/** Per-vGPU state (`struct xengt_hvm_dev`). */
class XenVgpu {
  readonly slots: IoreqSlot[] = [];
  nextVcpu = 0;
  /** BAR0 as claimed for the ioreq server (XEN_DMOP_map_io_range_to_ioreq_server). */
  readonly trap = new TrapArea(BAR0_SIZE);
  readonly ioreqPages: LazyInt32Array;
  readonly dirty = new Set<number>();
  /**
   * Xen's log-dirty bitmap while log-dirty mode is on (null: off): the pages the backend
   * reported through XEN_DMOP_modified_memory (GPU-mapped pages) since the last CLEAN; the
   * CPU's writes are in the guest memory's own log.
   */
  logged: Uint8Array | null = null;
  readonly dmaRefs = new Map<number, number>();
  foreignMapped = false;
  msiCap = -1;
  /** Offset of the Advanced Features capability (FLR), -1 if none (found with msiCap). */
  afCap = -1;
  msiEnabled = false;
  crashed = false;
  detached = false;
  readonly store = new GuestStore();

  constructor(readonly info: VgpuInfo, readonly mem: GuestMemoryView, firstPort: number) {
    const n = Math.max(1, info.vcpus | 0);
    for (let i = 0; i < n; i++) this.slots.push(new IoreqSlot(firstPort + i));
    this.ioreqPages = new LazyInt32Array(mem.frames, 0);
  }
}

/** The xen backend: the MPT ops plus the crashed-domain query and the fault hook. */
export interface XenBackend extends MptBackend {
  /** True once the vGPU's domain was crashed by an emulation error. */
  crashed(vgpuId: number): boolean;
  /**
   * The core reports that an op failed for this vGPU (e.g. an injected fault); a failure
   * on the trap path (guestMmioRead/Write, guestMemWrite) is an emulation error and crashes
   * the domain. Returns true if the domain was crashed by this call.
   */
  opFailed(vgpuId: number, op: string): boolean;
}

const TRAP_PATH_OPS = new Set(["guestMmioRead", "guestMmioWrite", "guestMemWrite"]);

/** A map of numbers to numbers as packed (key, value) pairs (`packNumbers`), in its order. */
function packedPairs(m: ReadonlyMap<number, number>): string {
  const xs = new Float64Array(2 * m.size);
  let i = 0;
  for (const [k, v] of m) {
    xs[i++] = k;
    xs[i++] = v;
  }
  return packNumbers(xs);
}

/** The XenGT-like backend factory. */
const createXenBackend: BackendFactory = (ctx: BackendContext): XenBackend => {
  const p = ctx.params;
  const cost = (name: string): number => costParam(p, name, XEN_DEFAULT_COSTS[name]);
  const maxPagesParam = p.domctl_max_pages;
  const domctlMax = typeof maxPagesParam === "number" && maxPagesParam >= 1
    ? Math.floor(maxPagesParam)
    : XEN_DOMCTL_MAX_PAGES;
  const C = {
    exit: cost("hvm_exit"),
    send: cost("ioreq_send"),
    upcall: cost("evtchn_upcall"),
    handle: cost("ioreq_handle"),
    notify: cost("ioresp_notify"),
    p2mFault: cost("p2m_ioreq_fault"),
    msiLatency: cost("msi_latency"),
    flush: cost("dirty_flush"),
    flushExtent: cost("dirty_flush_per_extent"),
    logToggle: cost("logdirty_toggle"),
    logClean: cost("logdirty_clean"),
    logPage: cost("logdirty_per_page"),
    mapBase: cost("foreign_map_base"),
    mapMib: cost("foreign_map_per_mib"),
    copyKib: cost("gpa_copy_per_kib"),
    domctl: cost("domctl_mapping"),
    domctlPage: cost("domctl_per_page"),
    bind: cost("evtchn_bind"),
    unmapForeign: cost("foreign_unmap"),
  };
  const onCrash = p.on_crash === "destroy" || p.on_crash === "restart" ? p.on_crash : "preserve";
  if (p.on_crash !== undefined && onCrash !== p.on_crash) {
    ctx.log(`unknown on_crash ${JSON.stringify(p.on_crash)}: preserving crashed domains`);
  }
  const teardownNs = typeof p.crash_teardown === "number" && p.crash_teardown >= 0
    ? p.crash_teardown
    : CRASH_TEARDOWN_NS;
  let ops: GvtOps | null = null;
  let nextPort = 1;
  const crashedIds = new Set<number>();
  const attached = new Map<number, XenVgpu>();

  const costs: CostModel = {
    hostInit: 0,
    hostExit: 0,
    attachVgpu: cost("ioreq_server_create"),
    detachVgpu: cost("ioreq_server_destroy"),
    injectMsi: cost("dm_op"),
    fromVirtToMfn: 200,
    enablePageTrack: cost("set_mem_type"),
    disablePageTrack: cost("set_mem_type"),
    readGpa: cost("gpa_access"),
    writeGpa: cost("gpa_access"),
    gfnToMfn: cost("gfn_to_mfn_hypercall"),
    dmaMapGuestPage: cost("dma_identity"),
    dmaUnmapGuestPage: cost("dma_identity"),
    dmaPinGuestPage: cost("dma_identity"),
    mapGfnToMfn: 0,
    setTrapArea: cost("map_io_range"),
    isValidGfn: cost("gfn_query"),
    setOpregion: cost("opregion_map"),
    guestMmioRead: C.exit,
    guestMmioWrite: C.exit,
    guestMemWrite: 0,
    vgpuDescheduled: 0,
    dirtyLog: 0, // charged by the op (logdirty_toggle)
    dirtyLogSync: 0, // charged by the op (logdirty_clean + per page)
  };
  declareDefaultCosts(costs, XEN_DEFAULT_COSTS, p);

  const st = (h: Handle): XenVgpu => h as XenVgpu;

  const isBacked = (v: XenVgpu, gfn: number): boolean => gfnBacked(v.mem, gfn);

  /** Pauses and crashes the domain (xen_pause_domain + domain_crash). */
  const crash = (v: XenVgpu, why: string): void => {
    if (v.crashed) return;
    v.crashed = true;
    crashedIds.add(v.info.id);
    ctx.count("domain_crashed");
    ctx.log(`vGPU ${v.info.id} (${v.info.vm}): emulation error (${why}): domain paused, crashed`);
    ops?.vgpuDeactivate(v.info.id); // a paused domain's vGPU is no longer scheduled
    if (onCrash !== "preserve") ctx.after(teardownNs, () => teardown(v));
  };

  /** The toolstack's on_crash action: destroy the domain and its vGPU, maybe create it again. */
  const teardown = (v: XenVgpu): void => {
    if (v.detached || ops === null) return;
    const { id, vm, type } = v.info;
    ctx.count("domain_destroyed");
    ctx.log(`vGPU ${id} (${vm}): on_crash ${onCrash}: domain destroyed`);
    ops.vgpuDestroy(id);
    if (onCrash !== "restart" || type === undefined) return;
    const again = ops.vgpuCreate(vm, type);
    ctx.count(again > 0 ? "domain_restarted" : "domain_restart_failed");
    ctx.log(`${vm}: domain created again: ${again > 0 ? `vGPU ${again}` : `error ${again}`}`);
  };

  /**
   * One ioreq round trip: Xen fills the issuing vCPU's slot and signals, the emulation
   * thread handles it, answers IORESP_READY and notifies. Returns the value read, or -1
   * after an emulation error (the domain is crashed).
   */
  const roundTrip = (
    v: XenVgpu,
    type: number,
    addr: number,
    size: number,
    write: boolean,
    value: number,
    wp: boolean,
  ): number => {
    const vcpu = v.nextVcpu;
    v.nextVcpu = (vcpu + 1) % v.slots.length;
    const s = v.slots[vcpu];
    if (s.state !== STATE_IOREQ_NONE) {
      crash(v, `ioreq slot of vCPU ${vcpu} busy (state ${s.state})`);
      return -1;
    }
    // Xen: build the request in the shared page and signal the vCPU's event channel
    s.type = type;
    s.addr = addr;
    s.size = size;
    s.dir = write ? 0 : 1;
    s.data = write ? value : 0;
    s.state = STATE_IOREQ_READY;
    ctx.charge(C.send);
    ctx.count("ioreqs");
    ctx.count(`ioreq_slot_${vcpu}`);
    ctx.count("evtchn_notify");
    // dom0: upcall, the emulation thread takes the request
    ctx.charge(C.upcall + C.handle);
    s.state = STATE_IOREQ_INPROCESS;
    let result = 0;
    let ok = size === 1 || size === 2 || size === 4 || size === 8;
    if (!ok) crash(v, `cannot decode a ${size}-byte access at ${addr}`);
    else if (ops !== null) {
      try {
        const id = v.info.id;
        if (wp) ops.writeProtectHandler(id, addr, size, value);
        else if (type === IOREQ_TYPE_PCI_CONFIG) {
          if (write) cfgWrite(v, addr, size, value);
          else result = ops.emulateCfgRead(id, addr, size);
        } else if (write) ops.emulateMmioWrite(id, addr - v.trap.start, size, value);
        else result = ops.emulateMmioRead(id, addr - v.trap.start, size);
      } catch (e) {
        ok = false;
        crash(v, `the mediator failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    // answer: IORESP_READY + notify; Xen completes the vCPU's instruction
    s.data = write ? s.data : result;
    s.state = STATE_IORESP_READY;
    ctx.charge(C.notify);
    s.state = STATE_IOREQ_NONE;
    return ok ? result : -1;
  };

  /** A config write seen by the ioreq server: follow the guest's MSI enable bit. */
  const cfgWrite = (v: XenVgpu, off: number, size: number, val: number): void => {
    const e = forwardCfgWrite(ops!, v.info.id, v, off, size, val);
    if (e === "flr") {
      // the ioreq server (QEMU in dom0) sees the guest's FLR and resets the vGPU
      ctx.count("flr");
      v.msiEnabled = false;
      ops!.vgpuReset(v.info.id);
    } else if (e !== "none") v.msiEnabled = e === "msi-on";
  };

  /** Builds the foreign mapping of all guest RAM on first use. */
  const foreignMap = (v: XenVgpu): void => {
    if (v.foreignMapped) return;
    v.foreignMapped = true;
    ctx.charge(C.mapBase + C.mapMib * (v.mem.frames * PAGE_SIZE / MiB));
    ctx.count("foreign_map_built");
  };

  const logDirty = (v: XenVgpu, gfn: number): void => {
    if (!v.dirty.has(gfn)) {
      v.dirty.add(gfn);
      ctx.count("dirty_logged");
    }
  };

  /** The domctl memory mapping of one chunk: -E2BIG above Xen's limit. */
  const domctlMapping = (nr: number): boolean => {
    ctx.charge(C.domctl);
    ctx.count("domctl_memory_mapping");
    if (nr > domctlMax) {
      ctx.count("domctl_e2big");
      return false;
    }
    ctx.charge(C.domctlPage * nr);
    return true;
  };

  const backend: XenBackend = {
    name: "xen",
    contract: MPT_CONTRACT_VERSION,
    costs,

    hostInit(o: GvtOps): void {
      ops = o;
    },

    hostExit(): void {
      ops = null;
    },

    attachVgpu(info: VgpuInfo): Handle {
      const v = new XenVgpu(info, ctx.guestMemory(info.id), nextPort);
      nextPort += v.slots.length;
      ctx.charge(C.bind * v.slots.length);
      ctx.count("ioreq_servers");
      crashedIds.delete(info.id);
      attached.set(info.id, v);
      return v;
    },

    detachVgpu(h: Handle): void {
      const v = st(h);
      if (v.detached) return;
      v.detached = true;
      if (attached.get(v.info.id) === v) {
        attached.delete(v.info.id);
        crashedIds.delete(v.info.id); // the domain is gone
      }
      if (v.foreignMapped) ctx.charge(C.unmapForeign);
      v.foreignMapped = false;
      v.ioreqPages.clear();
      v.dmaRefs.clear();
      v.dirty.clear();
      v.trap.clear();
      v.msiEnabled = false;
    },

    injectMsi(h: Handle, addr: number, data: number): boolean {
      const v = st(h);
      if (v.crashed) {
        ctx.count("msi_dropped_crashed");
        return false;
      }
      if (!v.msiEnabled) {
        ctx.count("msi_dropped_disabled");
        return false;
      }
      ctx.count("dm_op_inject_msi");
      ctx.deliverMsi(v.info.id, addr, data, C.msiLatency);
      return true;
    },

    /** dom0's virt_to_mfn (OpRegion): host addresses in the simulation are machine addresses. */
    fromVirtToMfn(addr: number): number {
      return Number.isFinite(addr) && addr >= 0 ? Math.floor(addr / PAGE_SIZE) : -1;
    },

    enablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (v.crashed) return MPT_EIO;
      if (!isBacked(v, gfn)) return MPT_EINVAL;
      if (v.ioreqPages.get(gfn) === 0) {
        v.ioreqPages.set(gfn, 1);
        ctx.count("p2m_ioreq_server_pages");
      }
      return MPT_OK;
    },

    disablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (v.crashed) return MPT_EIO;
      if (!isBacked(v, gfn)) return MPT_EINVAL;
      v.ioreqPages.set(gfn, 0);
      return MPT_OK;
    },

    readGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      const v = st(h);
      foreignMap(v);
      return copyGpa(ctx, v.mem, gpa, buf, false, C.copyKib);
    },

    writeGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      const v = st(h);
      foreignMap(v);
      return copyGpa(ctx, v.mem, gpa, buf, true, C.copyKib);
    },

    gfnToMfn(h: Handle, gfn: number): number {
      const v = st(h);
      if (!isBacked(v, gfn)) return -1;
      const m = v.mem.mfnOf(gfn);
      if (m >= 0) logDirty(v, gfn);
      return m;
    },

    dmaMapGuestPage(h: Handle, gfn: number, size: number): number {
      const v = st(h);
      if (size !== PAGE_SIZE && size !== PAGE_SIZE_2M) return MPT_EINVAL;
      const dma = hostDmaAddress(v.mem, gfn, size);
      if (dma < 0) return dma;
      for (let i = 0; i < size / PAGE_SIZE; i++) logDirty(v, gfn + i);
      v.dmaRefs.set(dma, (v.dmaRefs.get(dma) ?? 0) + 1);
      return dma;
    },

    dmaUnmapGuestPage(h: Handle, dma: number): void {
      const v = st(h);
      const r = v.dmaRefs.get(dma);
      if (r === undefined) {
        ctx.count("dma_unmap_unknown");
        return;
      }
      if (r <= 1) v.dmaRefs.delete(dma);
      else v.dmaRefs.set(dma, r - 1);
    },

    dmaPinGuestPage(h: Handle, dma: number): number {
      const v = st(h);
      const r = v.dmaRefs.get(dma);
      if (r === undefined) return MPT_EINVAL;
      v.dmaRefs.set(dma, r + 1);
      return MPT_OK;
    },

    mapGfnToMfn(_h: Handle, gfn: number, mfn: number, nr: number, map: boolean): number {
      if (!Number.isInteger(nr) || nr < 0 || gfn < 0 || mfn < 0) return MPT_EINVAL;
      let done = 0;
      let chunk = CHUNK;
      while (done < nr) {
        const n = Math.min(chunk, nr - done);
        if (domctlMapping(n)) {
          done += n;
          continue;
        }
        if (n === 1) return MPT_EIO;
        chunk = n >> 1;
        ctx.count("domctl_chunk_halved");
      }
      ctx.count(map ? "pages_mapped" : "pages_unmapped", nr);
      return MPT_OK;
    },

    setTrapArea(h: Handle, start: number, end: number, map: boolean): number {
      return start < 0 ? MPT_EINVAL : st(h).trap.set(start, end, map);
    },

    isValidGfn(h: Handle, gfn: number): boolean {
      return isBacked(st(h), gfn);
    },

    setOpregion(h: Handle): number {
      return st(h).crashed ? MPT_EIO : MPT_OK;
    },

    guestMmioRead(h: Handle, gpa: number, size: number): number {
      const v = st(h);
      if (v.crashed) {
        ctx.count("paused_domain_access");
        return allOnes(size);
      }
      const cfg = v.detached ? undefined : v.info.cfg; // the ioreq server is gone after detach
      if (cfg !== undefined && gpa >= cfg && gpa < cfg + PCI_CFG_SPACE_EXP_SIZE) {
        const r = roundTrip(v, IOREQ_TYPE_PCI_CONFIG, gpa - cfg, size, false, 0, false);
        return r < 0 ? allOnes(size) : r;
      }
      if (v.trap.holds(gpa)) {
        if (gpa + size > v.trap.end) {
          crash(v, `access crosses the end of BAR0`);
          return allOnes(size);
        }
        const r = roundTrip(v, IOREQ_TYPE_COPY, gpa, size, false, 0, false);
        return r < 0 ? allOnes(size) : r;
      }
      ctx.count("unhandled_mmio");
      return allOnes(size);
    },

    guestMmioWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      if (v.crashed) {
        ctx.count("paused_domain_access");
        return;
      }
      const cfg = v.detached ? undefined : v.info.cfg; // the ioreq server is gone after detach
      if (cfg !== undefined && gpa >= cfg && gpa < cfg + PCI_CFG_SPACE_EXP_SIZE) {
        roundTrip(v, IOREQ_TYPE_PCI_CONFIG, gpa - cfg, size, true, value, false);
        return;
      }
      if (v.trap.holds(gpa)) {
        if (gpa + size > v.trap.end) {
          crash(v, `access crosses the end of BAR0`);
          return;
        }
        roundTrip(v, IOREQ_TYPE_COPY, gpa, size, true, value, false);
        return;
      }
      ctx.count("unhandled_mmio");
    },

    guestMemWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      if (v.crashed) {
        ctx.count("paused_domain_access");
        return;
      }
      const gfn = Math.floor(gpa / PAGE_SIZE);
      if (gfn >= 0 && gfn < v.ioreqPages.length && v.ioreqPages.get(gfn) === 1) {
        ctx.charge(C.exit + C.p2mFault);
        ctx.count("p2m_ioreq_faults");
        roundTrip(v, IOREQ_TYPE_COPY, gpa, size, true, value, true);
        return;
      }
      const n = size >= 1 && size <= 8 ? Math.trunc(size) : 8; // a size it cannot store: 8 bytes
      if (!v.store.write(v.mem, gpa, n, value)) ctx.count("guest_write_faults");
    },

    vgpuDescheduled(h: Handle): void {
      const v = st(h);
      if (v.dirty.size === 0) return;
      const gfns = [...v.dirty].sort((a, b) => a - b);
      let extents = 1;
      for (let i = 1; i < gfns.length; i++) if (gfns[i] !== gfns[i - 1] + 1) extents++;
      ctx.charge(C.flush + C.flushExtent * extents);
      ctx.count("dirty_flushes");
      ctx.count("dirty_pages_flushed", gfns.length);
      ctx.count("dirty_extents_flushed", extents);
      if (v.logged !== null) { for (const g of gfns) if (g < v.logged.length) v.logged[g] = 1; }
      v.dirty.clear();
    },

    dirtyLog(h: Handle, on: boolean): number {
      const v = st(h);
      if (v.mem.logDirty === undefined) return MPT_EINVAL;
      ctx.charge(C.logToggle);
      v.mem.logDirty(on);
      v.logged = on ? new Uint8Array(v.mem.frames) : null;
      return MPT_OK;
    },

    dirtyLogSync(h: Handle, bitmap: Uint8Array): number {
      const v = st(h);
      const log = v.logged;
      if (log === null || v.mem.takeDirty === undefined) return MPT_EINVAL;
      backend.vgpuDescheduled!(h); // XEN_DMOP_modified_memory of what is pending first
      let n = Math.max(0, v.mem.takeDirty(bitmap));
      for (let g = 0; g < log.length; g++) {
        if (log[g] === 0) continue;
        log[g] = 0;
        if (bitmap[g] === 0) {
          bitmap[g] = 1;
          n++;
        }
      }
      ctx.charge(C.logClean + C.logPage * n);
      ctx.count("logdirty_pages", n);
      return MPT_OK;
    },

    crashed(vgpuId: number): boolean {
      return crashedIds.has(vgpuId);
    },

    opFailed(vgpuId: number, op: string): boolean {
      const v = attached.get(vgpuId);
      if (v === undefined || !TRAP_PATH_OPS.has(op) || v.crashed) return false;
      crash(v, `${op} failed`);
      return true;
    },
    save(h: Handle): unknown {
      const v = st(h);
      return {
        slots: v.slots.map((q) => [q.port, q.state, q.type, q.addr, q.size, q.dir, q.data]),
        nextVcpu: v.nextVcpu,
        trapStart: v.trap.start,
        trapEnd: v.trap.end,
        ioreqPages: sparseFrames(v.ioreqPages),
        dirty: [...v.dirty],
        logged: v.logged === null ? null : [...v.logged.keys()].filter((g) => v.logged![g] !== 0),
        dmaRefs: packedPairs(v.dmaRefs),
        foreignMapped: v.foreignMapped,
        msiCap: v.msiCap,
        afCap: v.afCap,
        msiEnabled: v.msiEnabled,
        crashed: v.crashed,
        detached: v.detached,
        // backend-wide state, the same in every vGPU's record
        nextPort,
        crashedIds: [...crashedIds],
      };
    },

    restore(h: Handle, state: unknown): void {
      const v = st(h), s = record(state);
      const slots = rows(s, "slots", 7);
      const dmaRefs = unpackNumbers(s, "dmaRefs", 2);
      const dirty = s.dirty, crashedList = s.crashedIds;
      if (!Array.isArray(dirty) || !dirty.every(Number.isInteger)) {
        throw new Error("saved dirty is malformed");
      }
      if (!Array.isArray(crashedList) || !crashedList.every(Number.isInteger)) {
        throw new Error("saved crashedIds is malformed");
      }
      loadSparseFrames(v.ioreqPages, s.ioreqPages, "ioreq pages");
      v.slots.length = 0;
      for (const [port, state, type, addr, size, dir, data] of slots) {
        const q = new IoreqSlot(port);
        Object.assign(q, { state, type, addr, size, dir, data });
        v.slots.push(q);
      }
      v.nextVcpu = num(s, "nextVcpu");
      v.trap.start = num(s, "trapStart");
      v.trap.end = num(s, "trapEnd");
      v.dirty.clear();
      for (const g of dirty as number[]) v.dirty.add(g);
      if (s.logged === null || s.logged === undefined) v.logged = null;
      else {
        const gfns = s.logged;
        if (
          !Array.isArray(gfns) ||
          !gfns.every((g) => Number.isInteger(g) && g >= 0 && g < v.mem.frames)
        ) throw new Error("saved log-dirty bitmap is malformed");
        v.logged = new Uint8Array(v.mem.frames);
        for (const g of gfns as number[]) v.logged[g] = 1;
      }
      v.dmaRefs.clear();
      for (let i = 0; i < dmaRefs.length; i += 2) v.dmaRefs.set(dmaRefs[i], dmaRefs[i + 1]);
      v.foreignMapped = bool(s, "foreignMapped");
      v.msiCap = num(s, "msiCap");
      v.afCap = num(s, "afCap");
      v.msiEnabled = bool(s, "msiEnabled");
      v.crashed = bool(s, "crashed");
      v.detached = bool(s, "detached");
      nextPort = num(s, "nextPort");
      crashedIds.clear();
      for (const id of crashedList as number[]) crashedIds.add(id);
      if (v.detached) attached.delete(v.info.id);
      else attached.set(v.info.id, v);
    },
  };
  return backend;
};

export default createXenBackend;
