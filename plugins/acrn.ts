/**
 * ACRN-like backend: a third design point, the *service-VM* model. ACRN is a small type-1
 * hypervisor with no device models of its own; every trapped guest access becomes an I/O
 * request in a shared buffer that the Service VM's kernel (HSM, formerly VHM) dispatches to
 * an ioreq *client*. GVT-g's `acrngt` MPT module is such a client, living in the Service VM
 * kernel next to i915 (after gvt-linux `acrngt.c` and ACRN's HSM `ioreq.c`).
 *
 * Why this design point: it sits between KVMGT and XenGT. Like Xen, the mediator runs in a
 * privileged VM and trapped accesses cross VM boundaries through shared slots; like KVM, the
 * Service VM owns guest memory directly (no foreign mapping to build) and the hypervisor is
 * thin. Its distinctive mechanics are modelled where they change costs:
 *
 * - Trap path: the guest exits (`vmexit_decode`), ACRN writes the request into the vCPU's
 *   slot of the shared I/O request buffer (16 slots, one per vCPU, states FREE / PENDING /
 *   PROCESSING / COMPLETE) and raises the upcall vector in the Service VM; HSM wakes acrngt's
 *   client thread (`ioreq_upcall`), which handles the request (`ioreq_handle`) and completes
 *   it with `HC_NOTIFY_REQUEST_FINISH` (`notify_finish`). Accesses pass whole.
 * - Batched completion: the client thread drains every pending request before sleeping, so
 *   a request that arrives while the thread is still awake (within `batch_window` ns of the
 *   previous completion) is handled without another upcall (counted `ioreq_batched`).
 * - Completion polling (parameter `io_polling: true`, ACRN's GUEST_FLAG_IO_COMPLETION_
 *   POLLING): the hypervisor polls the slot state instead of waiting for the notify
 *   hypercall (`io_poll` replaces `notify_finish`).
 * - BAR0: claimed by adding an MMIO range to the client (`acrn_ioreq_add_iorange`, local to
 *   the Service VM: no hypercall). Unclaimed accesses go to the default client (the user-space
 *   device model), which has no such device: reads all ones, writes dropped
 *   (`default_client`). The device's PCI config space is claimed at attach.
 * - Page tracking: `HC_WRITE_PROTECT_PAGE` clears the EPT write permission of the page
 *   (`write_protect_hc`); a guest write faults (`ept_wp_fault`) and arrives as a
 *   write-protect request through the same buffer.
 * - MSI: `HC_INJECT_MSI` (`inject_msi_hc`), delivered through the virtual LAPIC (posted
 *   interrupts) after `msi_latency`; dropped while the guest has MSI disabled.
 * - DMA: the Service VM's IOMMU domain is the identity and guest RAM is carved out of Service
 *   VM memory, so the device address is the host physical address from `HC_VM_GPA2HPA`
 *   (`gpa2hpa_hc`); mappings are cached per gfn with a reference count (hits cost a lookup).
 * - Guest memory: the Service VM maps every guest's RAM at VM creation, so `readGpa` /
 *   `writeGpa` are a memcpy (`gpa_copy_per_kib`), no hypercall and no lazy mapping.
 * - `mapGfnToMfn`: one `HC_VM_SET_MEMORY_REGIONS` hypercall for the whole contiguous range
 *   (`set_memory_regions` + `ept_per_page`): no chunking.
 * - Emulation errors (an undecodable access size, an exception from the mediator) complete
 *   the request with all ones / a dropped write and are counted (`emulation_errors`); the
 *   VM keeps running (unlike Xen, which crashes the domain).
 *
 * Parameters: any cost name below (ns) overrides that cost; `io_polling` (boolean).
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
  MPT_OK,
  PAGE_SIZE,
  PAGE_SIZE_2M,
} from "../core/mpt/types.ts";
import {
  allOnes,
  bool,
  loadSparseFrames,
  num,
  record,
  rows,
  sparseFrames,
} from "../core/mpt/saved_state.ts";
import { forwardCfgWrite, PCI_CFG_SPACE_EXP_SIZE } from "../core/mpt/pci.ts";
import { LazyInt32Array } from "../core/hw/lazy_array.ts";
import {
  copyGpa,
  costParam,
  declareDefaultCosts,
  DmaCache,
  gfnBacked,
  GuestStore,
  hostDmaAddress,
  TrapArea,
} from "../core/mpt/backend_helpers.ts";

/** Default costs (ns) of the ACRN paths, each with the reason for its size. */
export const ACRN_DEFAULT_COSTS: Readonly<Record<string, number>> = {
  /** VM exit and ACRN's lean instruction decode (no user-space device model involved). */
  vmexit_decode: 800,
  /** Filling the vCPU's slot, the upcall vector into the Service VM, HSM waking the
   * acrngt client thread (a Service VM vCPU must run: cheaper than Xen's event-channel
   * path because the upcall is a direct vector and the thread is kernel-resident). */
  ioreq_upcall: 1_500,
  /** The client thread reading, decoding and dispatching one request. */
  ioreq_handle: 200,
  /** HC_NOTIFY_REQUEST_FINISH and resuming the blocked vCPU: the hypercall plus the IPI that
   * wakes the vCPU's pCPU. ACRN measured polling to save "about ~5000 cpu cycles" against it
   * (acrn-hypervisor commit e8296dce): 2,500 ns at 2 GHz on top of `io_poll`. */
  notify_finish: 2_800,
  /** Completion polling: the vCPU's pCPU spinning on the slot until COMPLETE. */
  io_poll: 300,
  /** How long the client thread keeps draining pending requests after a completion. */
  batch_window: 1_000,
  /** EPT violation on a write-protected page, before the request is built. */
  ept_wp_fault: 600,
  /** HC_WRITE_PROTECT_PAGE: one EPT entry update and invalidation. */
  write_protect_hc: 1_000,
  /** HC_INJECT_MSI from the Service VM. */
  inject_msi_hc: 700,
  /** vLAPIC delivery with posted interrupts until the guest vCPU takes the MSI. */
  msi_latency: 600,
  /** HC_VM_GPA2HPA: an EPT walk in the hypervisor. */
  gpa2hpa_hc: 500,
  /** DMA cache lookup by gfn / by address in the Service VM. */
  dma_cache_lookup: 120,
  /** HSM's guest memory-region lookup (validity of a gfn), no hypercall. */
  region_lookup: 150,
  /** Declared cost of readGpa/writeGpa (the guest RAM is already mapped). */
  gpa_access: 80,
  /** memcpy per KiB through the Service VM's mapping of guest RAM. */
  gpa_copy_per_kib: 30,
  /** HC_VM_SET_MEMORY_REGIONS: one hypercall for a whole region list. */
  set_memory_regions: 3_000,
  /** ... plus per page of EPT updates. */
  ept_per_page: 20,
  /** Adding/removing an I/O range of the client (Service VM only). */
  add_iorange: 500,
  /** Creating the ioreq client and its thread, claiming the device's config space. */
  ioreq_client_create: 60_000,
  /** Destroying the client (after draining its requests). */
  ioreq_client_destroy: 30_000,
  /** Exposing the OpRegion (mapping its pages with one memory-region hypercall). */
  opregion_map: 8_000,
};

/** Slots of ACRN's shared I/O request buffer (ACRN_IO_REQUEST_MAX). */
export const ACRN_IO_REQUEST_MAX = 16;

/** Slot states (ACRN_IOREQ_STATE_*). */
export const ACRN_IOREQ_STATE_PENDING = 0;
/** The request was completed by the Service VM. */
export const ACRN_IOREQ_STATE_COMPLETE = 1;
/** The Service VM is handling the request. */
export const ACRN_IOREQ_STATE_PROCESSING = 2;
/** The slot is free. */
export const ACRN_IOREQ_STATE_FREE = 3;

const ACRN_IOREQ_TYPE_MMIO = 1;
const ACRN_IOREQ_TYPE_PCICFG = 2;
const ACRN_IOREQ_TYPE_WP = 3;

const MiB = 1024 * 1024;
const BAR0_SIZE = 16 * MiB;

/** One slot of the shared I/O request buffer (`struct acrn_io_request`). */
class IoRequest {
  state = ACRN_IOREQ_STATE_FREE;
  type = ACRN_IOREQ_TYPE_MMIO;
  addr = 0;
  size = 0;
  value = 0;
}

/** A cached DMA mapping. */
class DmaEntry {
  constructor(readonly gfn: number, readonly dma: number, public ref: number) {}
}

/** Per-vGPU state (acrngt's per-VM client). */
class AcrnVgpu {
  readonly slots: IoRequest[] = [];
  nextVcpu = 0;
  /** BAR0 as an MMIO range of the client (acrn_ioreq_add_iorange). */
  readonly range = new TrapArea(BAR0_SIZE);
  readonly wp: LazyInt32Array;
  /** The DMA cache (by gfn and by device address). */
  readonly dma = new DmaCache<DmaEntry>();
  msiCap = -1;
  /** Offset of the Advanced Features capability (FLR), -1 if none (found with msiCap). */
  afCap = -1;
  msiEnabled = false;
  /** Simulated time the client thread goes back to sleep (-1: asleep). */
  awakeUntil = -1;
  destroyed = false;
  readonly store = new GuestStore();

  constructor(readonly info: VgpuInfo, readonly mem: GuestMemoryView) {
    const n = Math.min(ACRN_IO_REQUEST_MAX, Math.max(1, info.vcpus | 0));
    for (let i = 0; i < n; i++) this.slots.push(new IoRequest());
    this.wp = new LazyInt32Array(mem.frames, 0);
  }
}

/** The ACRN-like backend factory. */
const createAcrnBackend: BackendFactory = (ctx: BackendContext): MptBackend => {
  const p = ctx.params;
  const cost = (name: string): number => costParam(p, name, ACRN_DEFAULT_COSTS[name]);
  const polling = p.io_polling === true;
  const C = {
    exit: cost("vmexit_decode"),
    upcall: cost("ioreq_upcall"),
    handle: cost("ioreq_handle"),
    finish: polling ? cost("io_poll") : cost("notify_finish"),
    window: cost("batch_window"),
    wpFault: cost("ept_wp_fault"),
    msiLatency: cost("msi_latency"),
    gpa2hpa: cost("gpa2hpa_hc"),
    copyKib: cost("gpa_copy_per_kib"),
    regions: cost("set_memory_regions"),
    eptPage: cost("ept_per_page"),
  };
  let ops: GvtOps | null = null;

  const costs: CostModel = {
    hostInit: 0,
    hostExit: 0,
    attachVgpu: cost("ioreq_client_create"),
    detachVgpu: cost("ioreq_client_destroy"),
    injectMsi: cost("inject_msi_hc"),
    enablePageTrack: cost("write_protect_hc"),
    disablePageTrack: cost("write_protect_hc"),
    readGpa: cost("gpa_access"),
    writeGpa: cost("gpa_access"),
    gfnToMfn: C.gpa2hpa,
    dmaMapGuestPage: cost("dma_cache_lookup"),
    dmaUnmapGuestPage: cost("dma_cache_lookup"),
    dmaPinGuestPage: cost("dma_cache_lookup"),
    mapGfnToMfn: 0,
    setTrapArea: cost("add_iorange"),
    isValidGfn: cost("region_lookup"),
    setOpregion: cost("opregion_map"),
    guestMmioRead: C.exit,
    guestMmioWrite: C.exit,
    guestMemWrite: 0,
  };
  declareDefaultCosts(costs, ACRN_DEFAULT_COSTS, p);

  const st = (h: Handle): AcrnVgpu => h as AcrnVgpu;

  const isBacked = (v: AcrnVgpu, gfn: number): boolean => gfnBacked(v.mem, gfn);
  /** HC_VM_GPA2HPA for one page of a DMA mapping. */
  const gpa2hpa = (): void => ctx.charge(C.gpa2hpa);

  /** A config write handled by acrngt: follow the guest's MSI enable bit. */
  const cfgWrite = (v: AcrnVgpu, o: GvtOps, off: number, size: number, val: number): void => {
    const e = forwardCfgWrite(o, v.info.id, v, off, size, val);
    if (e === "flr") {
      // the Service VM's device model sees the guest's FLR and resets the vGPU
      ctx.count("flr");
      v.msiEnabled = false;
      o.vgpuReset(v.info.id);
    } else if (e !== "none") v.msiEnabled = e === "msi-on";
  };

  /**
   * One I/O request through the shared buffer: PENDING in the vCPU's slot, upcall (unless
   * the client thread is still draining), PROCESSING, the mediator, COMPLETE, then notify
   * (or polling) and the slot is FREE again. Returns the value read (all ones on error).
   */
  const request = (
    v: AcrnVgpu,
    type: number,
    addr: number,
    size: number,
    write: boolean,
    value: number,
  ): number => {
    const vcpu = v.nextVcpu;
    v.nextVcpu = (vcpu + 1) % v.slots.length;
    const s = v.slots[vcpu];
    s.state = ACRN_IOREQ_STATE_PENDING;
    s.type = type;
    s.addr = addr;
    s.size = size;
    s.value = write ? value : 0;
    ctx.count("ioreqs");
    ctx.count(`ioreq_slot_${vcpu}`);
    const now = ctx.now();
    let spent = 0;
    if (v.awakeUntil >= 0 && now <= v.awakeUntil) {
      ctx.count("ioreq_batched");
    } else {
      spent += C.upcall;
      ctx.count("upcalls");
    }
    spent += C.handle;
    s.state = ACRN_IOREQ_STATE_PROCESSING;
    let result = allOnes(size);
    const decodable = size === 1 || size === 2 || size === 4 || size === 8;
    if (!decodable) ctx.count("emulation_errors");
    else if (ops !== null) {
      try {
        const id = v.info.id;
        if (type === ACRN_IOREQ_TYPE_WP) ops.writeProtectHandler(id, addr, size, value);
        else if (type === ACRN_IOREQ_TYPE_PCICFG) {
          if (write) cfgWrite(v, ops, addr, size, value);
          else result = ops.emulateCfgRead(id, addr, size);
        } else if (write) ops.emulateMmioWrite(id, addr - v.range.start, size, value);
        else result = ops.emulateMmioRead(id, addr - v.range.start, size);
      } catch (e) {
        ctx.count("emulation_errors");
        ctx.log(`vGPU ${v.info.id}: emulation error: ${e instanceof Error ? e.message : e}`);
        result = allOnes(size);
      }
    }
    s.value = write ? s.value : result;
    s.state = ACRN_IOREQ_STATE_COMPLETE;
    spent += C.finish;
    if (polling) ctx.count("completions_polled");
    else ctx.count("notify_request_finish");
    s.state = ACRN_IOREQ_STATE_FREE;
    ctx.charge(spent);
    v.awakeUntil = now + C.exit + spent + C.window;
    return result;
  };

  const unmapEntry = (v: AcrnVgpu, e: DmaEntry): void => {
    v.dma.remove(e);
  };

  const backend: MptBackend = {
    name: "acrn",
    contract: MPT_CONTRACT_VERSION,
    costs,

    hostInit(o: GvtOps): void {
      ops = o;
    },

    hostExit(): void {
      ops = null;
    },

    attachVgpu(info: VgpuInfo): Handle {
      const v = new AcrnVgpu(info, ctx.guestMemory(info.id));
      if (info.vcpus > ACRN_IO_REQUEST_MAX) {
        ctx.log(`vGPU ${info.id}: ${info.vcpus} vCPUs, only ${ACRN_IO_REQUEST_MAX} slots`);
      }
      ctx.count("ioreq_clients");
      return v;
    },

    detachVgpu(h: Handle): void {
      const v = st(h);
      if (v.destroyed) return;
      v.destroyed = true;
      v.dma.clear();
      v.wp.clear();
      v.range.clear();
      v.msiEnabled = false;
      v.awakeUntil = -1;
    },

    injectMsi(h: Handle, addr: number, data: number): boolean {
      const v = st(h);
      if (!v.msiEnabled) {
        ctx.count("msi_dropped_disabled");
        return false;
      }
      ctx.count("hc_inject_msi");
      ctx.deliverMsi(v.info.id, addr, data, C.msiLatency);
      return true;
    },

    enablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (!isBacked(v, gfn)) return MPT_EINVAL;
      if (v.wp.get(gfn) === 0) {
        v.wp.set(gfn, 1);
        ctx.count("ept_write_protected");
      }
      return MPT_OK;
    },

    disablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (!isBacked(v, gfn)) return MPT_EINVAL;
      v.wp.set(gfn, 0);
      return MPT_OK;
    },

    readGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return copyGpa(ctx, st(h).mem, gpa, buf, false, C.copyKib);
    },

    writeGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return copyGpa(ctx, st(h).mem, gpa, buf, true, C.copyKib);
    },

    gfnToMfn(h: Handle, gfn: number): number {
      const v = st(h);
      return isBacked(v, gfn) ? v.mem.mfnOf(gfn) : -1;
    },

    dmaMapGuestPage(h: Handle, gfn: number, size: number): number {
      const v = st(h);
      if (size !== PAGE_SIZE && size !== PAGE_SIZE_2M) return MPT_EINVAL;
      const hit = v.dma.byGfn.get(gfn);
      if (hit !== undefined && size === PAGE_SIZE) {
        hit.ref++;
        ctx.count("dma_cache_hit");
        return hit.dma;
      }
      ctx.count("dma_cache_miss");
      const dma = hostDmaAddress(v.mem, gfn, size, gpa2hpa);
      if (dma < 0) return dma;
      if (hit !== undefined) {
        hit.ref++;
        return dma;
      }
      const e = new DmaEntry(gfn, dma, 1);
      v.dma.add(e);
      return dma;
    },

    dmaUnmapGuestPage(h: Handle, dma: number): void {
      const v = st(h);
      const e = v.dma.byDma.get(dma);
      if (e === undefined) {
        ctx.count("dma_unmap_unknown");
        return;
      }
      if (--e.ref <= 0) unmapEntry(v, e);
    },

    dmaPinGuestPage(h: Handle, dma: number): number {
      const e = st(h).dma.byDma.get(dma);
      if (e === undefined) return MPT_EINVAL;
      e.ref++;
      return MPT_OK;
    },

    mapGfnToMfn(_h: Handle, gfn: number, mfn: number, nr: number, map: boolean): number {
      if (!Number.isInteger(nr) || nr < 0 || gfn < 0 || mfn < 0) return MPT_EINVAL;
      ctx.charge(C.regions + C.eptPage * nr);
      ctx.count("hc_set_memory_regions");
      ctx.count(map ? "pages_mapped" : "pages_unmapped", nr);
      return MPT_OK;
    },

    setTrapArea(h: Handle, start: number, end: number, map: boolean): number {
      return start < 0 ? MPT_EINVAL : st(h).range.set(start, end, map);
    },

    isValidGfn(h: Handle, gfn: number): boolean {
      return isBacked(st(h), gfn);
    },

    setOpregion(_h: Handle): number {
      return MPT_OK;
    },

    guestMmioRead(h: Handle, gpa: number, size: number): number {
      const v = st(h);
      const cfg = v.destroyed ? undefined : v.info.cfg; // a destroyed client claims nothing
      if (cfg !== undefined && gpa >= cfg && gpa + size <= cfg + PCI_CFG_SPACE_EXP_SIZE) {
        return request(v, ACRN_IOREQ_TYPE_PCICFG, gpa - cfg, size, false, 0);
      }
      if (v.range.covers(gpa, size)) {
        return request(v, ACRN_IOREQ_TYPE_MMIO, gpa, size, false, 0);
      }
      ctx.count("default_client");
      return allOnes(size);
    },

    guestMmioWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      const cfg = v.destroyed ? undefined : v.info.cfg; // a destroyed client claims nothing
      if (cfg !== undefined && gpa >= cfg && gpa + size <= cfg + PCI_CFG_SPACE_EXP_SIZE) {
        request(v, ACRN_IOREQ_TYPE_PCICFG, gpa - cfg, size, true, value);
        return;
      }
      if (v.range.covers(gpa, size)) {
        request(v, ACRN_IOREQ_TYPE_MMIO, gpa, size, true, value);
        return;
      }
      ctx.count("default_client");
    },

    guestMemWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      const gfn = Math.floor(gpa / PAGE_SIZE);
      if (gfn >= 0 && gfn < v.wp.length && v.wp.get(gfn) === 1) {
        ctx.charge(C.exit + C.wpFault);
        ctx.count("ept_wp_faults");
        request(v, ACRN_IOREQ_TYPE_WP, gpa, size, true, value);
        return;
      }
      const n = size >= 1 && size <= 8 ? Math.trunc(size) : 8; // a size it cannot store: 8 bytes
      if (!v.store.write(v.mem, gpa, n, value)) ctx.count("guest_write_faults");
    },

    save(h: Handle): unknown {
      const v = st(h);
      return {
        slots: v.slots.map((q) => [q.state, q.type, q.addr, q.size, q.value]),
        nextVcpu: v.nextVcpu,
        rangeStart: v.range.start,
        rangeEnd: v.range.end,
        wp: sparseFrames(v.wp),
        ...v.dma.save((e) => [e.gfn, e.dma, e.ref]),
        msiCap: v.msiCap,
        afCap: v.afCap,
        msiEnabled: v.msiEnabled,
        awakeUntil: v.awakeUntil,
        destroyed: v.destroyed,
      };
    },

    restore(h: Handle, state: unknown): void {
      const v = st(h), s = record(state);
      const slots = rows(s, "slots", 5);
      v.dma.load(s, 4, ([gfn, dma, ref]) => new DmaEntry(gfn, dma, ref));
      loadSparseFrames(v.wp, s.wp, "write-protected pages");
      v.slots.length = 0;
      for (const [state, type, addr, size, value] of slots) {
        const q = new IoRequest();
        Object.assign(q, { state, type, addr, size, value });
        v.slots.push(q);
      }
      v.nextVcpu = num(s, "nextVcpu");
      v.range.start = num(s, "rangeStart");
      v.range.end = num(s, "rangeEnd");
      v.msiCap = num(s, "msiCap");
      v.afCap = num(s, "afCap");
      v.msiEnabled = bool(s, "msiEnabled");
      v.awakeUntil = num(s, "awakeUntil");
      v.destroyed = bool(s, "destroyed");
    },
  };
  return backend;
};

export default createAcrnBackend;
