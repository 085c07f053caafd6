/**
 * KVMGT-like backend (KVM + VFIO mediated device), after Linux i915 `gvt/kvmgt.c`.
 *
 * - Trap path: BAR0 is a non-mmappable VFIO region, so every guest access to it exits KVM
 *   to QEMU, which issues a VFIO region read/write that the kernel emulates (`mmio_exit`
 *   per access). QEMU/`intel_vgpu_rw` passes 8-byte aligned accesses in the GTT window
 *   (BAR0 + 8 MiB .. 16 MiB) whole and splits others into 4/2/1-byte pieces (`vfio_rw` per
 *   piece). Config space (the ECAM window `VgpuInfo.cfg`) goes the same way; when the guest
 *   enables MSI there, QEMU installs the MSI eventfd (VFIO_DEVICE_SET_IRQS).
 * - MSI: `injectMsi` signals the eventfd (`eventfd_signal`), KVM's irqfd injects it into the
 *   guest after `irqfd_latency`. With no eventfd installed the MSI is dropped (false).
 *   Parameter `eventfd: false` never installs one (a QEMU that never wires MSI).
 * - Page tracking: KVM's page-track notifier. A guest write to a tracked page faults
 *   (`page_track_fault`: EPT violation, write emulation) and the core's write-protect
 *   handler is called; untracked writes are plain stores.
 * - DMA: one 4 KiB page at a time pinned through VFIO (`pin_page`) and mapped
 *   (`dma_map_page`), cached in two trees — by gfn and by dma address — with refcounts. Hits
 *   and misses are counted (`dma_cache_hit`, `dma_cache_miss`). Parameter `iommu` says what a
 *   device address is:
 *   - `"passthrough"` (default; the host IOMMU in pass-through mode, `iommu=pt`): the host
 *     physical address. A 2 MiB mapping needs 512 host-contiguous frames, 2 MiB aligned, or
 *     fails with -EINVAL (the core then splits the guest's 2 MiB page).
 *   - `"gpa"`: the vGPU's IOMMU domain is attached and maps IOVA = the guest-physical
 *     address, page by page, as VFIO maps a VM's memory for an assigned device. A 2 MiB
 *     mapping then needs only a 2 MiB aligned guest range, wherever its host frames are.
 * - Guest memory: the VFIO rw path (`gpa_rw` + `gpa_rw_per_kib`). `isValidGfn`: is the gfn
 *   in a memslot.
 * - Display (parameter `display`, a refresh period; absent: no console): QEMU's vfio display
 *   refreshes its console every period (`vfio_display_dmabuf_update`): it queries the primary
 *   plane (`GvtOps.vgpuQueryPlane`), exports a dma-buf for a framebuffer it has not shown yet
 *   (`GvtOps.vgpuGetDmabuf`: the mediator pins its pages with `dmaPinGuestPage` and takes a
 *   VFIO device reference with `getVfioDevice`) and closes the ones no longer shown
 *   (`GvtOps.vgpuPutDmabuf`), as `vfio_display_free_dmabufs` does; each refresh costs
 *   `display_query`. Counted `dmabuf_exported`, `dmabuf_closed`. (A console's timer is a
 *   closure: a checkpoint of a run with a console replays.)
 *
 * Parameters: any cost name below (ns) overrides that cost; `eventfd` (boolean, default
 * true), `iommu` (`"passthrough"` or `"gpa"`) and `display` (ns) as described above.
 */

import type {
  BackendContext,
  BackendFactory,
  CostModel,
  GuestMemoryView,
  GvtOps,
  Handle,
  IommuDomainView,
  MptBackend,
  VgpuInfo,
} from "../core/mpt/types.ts";
import {
  MPT_CONTRACT_VERSION,
  MPT_EFAULT,
  MPT_EINVAL,
  MPT_ENOMEM,
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
import { refreshConsole } from "../core/mpt/display.ts";
import {
  copyGpa,
  costParam,
  declareDefaultCosts,
  DmaCache,
  gfnBacked,
  GuestStore,
} from "../core/mpt/backend_helpers.ts";

/** Default costs (ns) of the KVMGT trap and mapping paths. */
export const KVM_DEFAULT_COSTS: Readonly<Record<string, number>> = {
  /** Guest MMIO/config access: VM exit, KVM -> QEMU, VFIO region ioctl, return. */
  mmio_exit: 3_000,
  /** Each VFIO region read/write piece after splitting. */
  vfio_rw: 150,
  /** Signalling the MSI eventfd (the caller's cost). */
  eventfd_signal: 400,
  /** irqfd: eventfd signal until the guest vCPU takes the interrupt. */
  irqfd_latency: 1_500,
  /** Adding/removing a KVM page-track write protection (mmu lock, spte update, flush). */
  page_track_add: 1_200,
  /** A guest write to a tracked page: EPT violation, write emulation, notifier call. */
  page_track_fault: 2_500,
  /** DMA cache lookup (rb-tree by gfn). */
  dma_cache_lookup: 150,
  /** Pinning one 4 KiB page through VFIO. */
  pin_page: 1_000,
  /** dma_map_page of one mapping. */
  dma_map_page: 300,
  /** Unpinning one 4 KiB page (and dma_unmap). */
  unpin_page: 700,
  /** Guest memory access base cost through the VFIO rw path. */
  gpa_rw: 300,
  /** ... plus this per KiB copied. */
  gpa_rw_per_kib: 60,
  /** gfn_to_pfn. */
  gfn_to_pfn: 200,
  /** Memslot lookup. */
  memslot_lookup: 100,
  /** KVM_SET_USER_MEMORY_REGION toggling KVM_MEM_LOG_DIRTY_PAGES (write-protects every spte). */
  dirty_log_toggle: 20_000,
  /** KVM_GET_DIRTY_LOG: the ioctl and the bitmap copy. */
  dirty_log_get: 10_000,
  /** ... plus re-write-protecting each dirty page it returns. */
  dirty_log_per_page: 40,
  /** Opening the mdev (attach). */
  mdev_open: 50_000,
  /** Releasing the mdev (detach). */
  mdev_release: 30_000,
  /** Registering the OpRegion / EDID VFIO regions. */
  vfio_region: 10_000,
  /** One console refresh: the QUERY_GFX_PLANE ioctl (and GET_GFX_DMABUF when new). */
  display_query: 5_000,
};

const MiB = 1024 * 1024;
const TWO32 = 4294967296;
const BAR0_SIZE = 16 * MiB;
const GTT_START = 8 * MiB;

/** One cached DMA mapping (`struct gvt_dma`). */
class GvtDma {
  constructor(
    readonly gfn: number,
    readonly dma: number,
    readonly size: number,
    public ref: number,
  ) {}
}

/** Per-vGPU state (`struct kvmgt_vdev`). */
class KvmVgpu {
  readonly tracked: LazyInt32Array;
  trackedCount = 0;
  /** The DMA cache (by gfn and by device address). */
  readonly dma = new DmaCache<GvtDma>();
  eventfd = false;
  /** KVM_MEM_LOG_DIRTY_PAGES is set on the VM's memslots (live migration). */
  dirtyLogging = false;
  /** Set at detach (the mdev is released: its VFIO regions answer nothing). */
  released = false;
  msiCap = -1;
  /** Offset of the Advanced Features capability (FLR), -1 if none (found with msiCap). */
  afCap = -1;
  vfioRefs = 0;
  /** The console's dma-buf exports: dma-buf id -> export handle. */
  readonly shown = new Map<number, number>();
  opregion = false;
  edidPorts = 0;
  readonly store = new GuestStore();
  /** With `iommu: "gpa"`: the vGPU's IOMMU domain, and per gfn the live mappings covering it. */
  readonly dom: IommuDomainView | null;
  readonly iovaRefs: LazyInt32Array;

  constructor(
    readonly info: VgpuInfo,
    readonly mem: GuestMemoryView,
    dom: IommuDomainView | null,
  ) {
    this.tracked = new LazyInt32Array(mem.frames, 0);
    this.dom = dom;
    this.iovaRefs = new LazyInt32Array(dom === null ? 0 : mem.frames, 0);
  }
}

/** The KVMGT-like backend factory. */
const createKvmBackend: BackendFactory = (ctx: BackendContext): MptBackend => {
  const p = ctx.params;
  const cost = (name: string): number => costParam(p, name, KVM_DEFAULT_COSTS[name]);
  const C = {
    mmioExit: cost("mmio_exit"),
    vfioRw: cost("vfio_rw"),
    eventfd: cost("eventfd_signal"),
    irqfd: cost("irqfd_latency"),
    ptAdd: cost("page_track_add"),
    ptFault: cost("page_track_fault"),
    lookup: cost("dma_cache_lookup"),
    pin: cost("pin_page"),
    dmaMap: cost("dma_map_page"),
    unpin: cost("unpin_page"),
    gpa: cost("gpa_rw"),
    gpaKib: cost("gpa_rw_per_kib"),
    dirtyToggle: cost("dirty_log_toggle"),
    dirtyGet: cost("dirty_log_get"),
    dirtyPage: cost("dirty_log_per_page"),
  };
  const installEventfd = p.eventfd !== false;
  const displayNs = typeof p.display === "number" && p.display > 0 ? p.display : 0;
  const iovaGpa = p.iommu === "gpa";
  if (p.iommu !== undefined && p.iommu !== "gpa" && p.iommu !== "passthrough") {
    ctx.log(`unknown iommu mode ${JSON.stringify(p.iommu)}: using passthrough`);
  }
  let ops: GvtOps | null = null;

  const costs: CostModel = {
    hostInit: 0,
    hostExit: 0,
    attachVgpu: cost("mdev_open"),
    detachVgpu: cost("mdev_release"),
    injectMsi: C.eventfd,
    enablePageTrack: C.ptAdd,
    disablePageTrack: C.ptAdd,
    readGpa: C.gpa,
    writeGpa: C.gpa,
    gfnToMfn: cost("gfn_to_pfn"),
    dmaMapGuestPage: C.lookup,
    dmaUnmapGuestPage: C.lookup,
    dmaPinGuestPage: C.lookup,
    isValidGfn: cost("memslot_lookup"),
    setOpregion: cost("vfio_region"),
    setEdid: cost("vfio_region"),
    getVfioDevice: 100,
    putVfioDevice: 100,
    guestMmioRead: C.mmioExit,
    guestMmioWrite: C.mmioExit,
    guestMemWrite: 0,
    dirtyLog: 0, // charged by the op (dirty_log_toggle)
    dirtyLogSync: 0, // charged by the op (dirty_log_get + per page)
  };
  declareDefaultCosts(costs, KVM_DEFAULT_COSTS, p);

  const st = (h: Handle): KvmVgpu => h as KvmVgpu;

  const isBacked = (v: KvmVgpu, gfn: number): boolean => gfnBacked(v.mem, gfn);

  /** The kernel side of one VFIO region access: emulate one piece. */
  const rwPiece = (v: KvmVgpu, off: number, size: number, write: boolean, val: number): number => {
    ctx.charge(C.vfioRw);
    ctx.count("vfio_rw_pieces");
    if (ops === null) return write ? 0 : allOnes(size);
    if (write) {
      ops.emulateMmioWrite(v.info.id, off, size, val);
      return 0;
    }
    return ops.emulateMmioRead(v.info.id, off, size);
  };

  /** `intel_vgpu_rw`: an access of `count` bytes at BAR0 offset `off`, split as kvmgt does. */
  const bar0Access = (v: KvmVgpu, off: number, count: number, write: boolean, val: number) => {
    if (count === 8 && off % 8 === 0 && off >= GTT_START && off < BAR0_SIZE) {
      return rwPiece(v, off, 8, write, val);
    }
    if (count === 4 && off % 4 === 0) {
      // the common dword access: the loop below with its one piece
      const r = rwPiece(v, off, 4, write, write ? Math.floor(val) % TWO32 : 0);
      return write ? 0 : ((r % TWO32) + TWO32) % TWO32;
    }
    let done = 0, result = 0, scale = 1;
    while (done < count) {
      const pos = off + done;
      const left = count - done;
      const n = left >= 4 && pos % 4 === 0 ? 4 : left >= 2 && pos % 2 === 0 ? 2 : 1;
      const part = write ? Math.floor(val / scale) % 2 ** (8 * n) : 0;
      const r = rwPiece(v, pos, n, write, part);
      if (!write) result += (((r % 2 ** (8 * n)) + 2 ** (8 * n)) % 2 ** (8 * n)) * scale;
      scale *= 2 ** (8 * n);
      done += n;
    }
    return result;
  };

  const cfgRead = (v: KvmVgpu, off: number, size: number): number => {
    ctx.charge(C.vfioRw);
    return ops === null ? allOnes(size) : ops.emulateCfgRead(v.info.id, off, size);
  };

  /** QEMU's vfio-pci watches MSI control writes and wires the eventfd (SET_IRQS). */
  const cfgWrite = (v: KvmVgpu, off: number, size: number, val: number): void => {
    ctx.charge(C.vfioRw);
    if (ops === null) return;
    const id = v.info.id;
    const e = forwardCfgWrite(ops, id, v, off, size, val);
    if (e === "flr") {
      // QEMU's vfio-pci turns the guest's FLR into VFIO_DEVICE_RESET: kvmgt resets the vGPU
      ctx.count("vfio_device_reset");
      if (v.eventfd) ctx.count("eventfd_released");
      v.eventfd = false;
      ops.vgpuReset(id);
    } else if (e === "msi-on" && !v.eventfd && installEventfd) {
      // QEMU's vfio-pci wires the MSI eventfd (VFIO_DEVICE_SET_IRQS)
      v.eventfd = true;
      ctx.count("eventfd_installed");
    } else if (e === "msi-off" && v.eventfd) {
      v.eventfd = false;
      ctx.count("eventfd_released");
    }
  };

  /** One console refresh of QEMU's vfio display, then the next one. */
  const refresh = (v: KvmVgpu): void => {
    if (v.released || ops === null) return;
    ctx.charge(cost("display_query"));
    const r = refreshConsole(ops, v.info.id, v.shown);
    if (r.exported > 0) ctx.count("dmabuf_exported", r.exported);
    if (r.failed > 0) ctx.count("dmabuf_export_failed", r.failed);
    if (r.closed > 0) ctx.count("dmabuf_closed", r.closed); // vfio_display_free_dmabufs
    ctx.after(displayNs, () => refresh(v));
  };

  const unpin = (v: KvmVgpu, e: GvtDma): void => {
    ctx.charge(C.unpin * (e.size / PAGE_SIZE));
    v.dma.remove(e);
    if (v.dom !== null) unmapIova(v, e.gfn, e.size / PAGE_SIZE);
    ctx.count("pages_unpinned", e.size / PAGE_SIZE);
  };

  /** Drops the IOVA pages of `pages` gfns from `gfn` no other mapping still covers. */
  const unmapIova = (v: KvmVgpu, gfn: number, pages: number): void => {
    for (let g = gfn; g < gfn + pages; g++) {
      const n = v.iovaRefs.get(g);
      if (n <= 0) continue;
      v.iovaRefs.set(g, n - 1);
      if (n === 1) v.dom!.unmap(g * PAGE_SIZE);
    }
  };

  /** IOVA = GPA: pin every page and map it in the vGPU's domain; the IOVA, or an errno. */
  const mapIova = (v: KvmVgpu, gfn: number, pages: number): number => {
    if (gfn % pages !== 0) {
      // a 2 MiB GPU page entry addresses an aligned range: here the IOVA is the GPA
      ctx.count("dma_map_not_aligned");
      return MPT_EINVAL;
    }
    for (let i = 0; i < pages; i++) {
      const g = gfn + i;
      const m = isBacked(v, g) ? v.mem.mfnOf(g) : -1;
      ctx.charge(C.pin);
      if (m < 0 || (v.iovaRefs.get(g) === 0 && !v.dom!.map(g * PAGE_SIZE, m))) {
        unmapIova(v, gfn, i);
        return MPT_EFAULT;
      }
      v.iovaRefs.set(g, v.iovaRefs.get(g) + 1);
    }
    ctx.charge(C.dmaMap);
    ctx.count("pages_pinned", pages);
    return gfn * PAGE_SIZE;
  };

  /** `gvt_dma_map_page`: pin every 4 KiB page, require host contiguity, map. */
  const mapPage = (v: KvmVgpu, gfn: number, size: number): number => {
    const pages = size / PAGE_SIZE;
    if (v.dom !== null) return mapIova(v, gfn, pages);
    let base = -1;
    for (let i = 0; i < pages; i++) {
      const g = gfn + i;
      if (!isBacked(v, g)) return MPT_EFAULT;
      const m = v.mem.mfnOf(g);
      ctx.charge(C.pin);
      if (m < 0) return MPT_EFAULT;
      if (i === 0) base = m;
      else if (m !== base + i) {
        ctx.count("dma_map_not_contiguous");
        return MPT_EINVAL;
      }
    }
    if (base % pages !== 0) {
      // a 2 MiB GPU page entry addresses an aligned range only
      ctx.count("dma_map_not_aligned");
      return MPT_EINVAL;
    }
    ctx.charge(C.dmaMap);
    ctx.count("pages_pinned", pages);
    return base * PAGE_SIZE;
  };

  const backend: MptBackend = {
    name: "kvm",
    contract: MPT_CONTRACT_VERSION,
    costs,

    hostInit(o: GvtOps): void {
      ops = o;
    },

    hostExit(): void {
      ops = null;
    },

    attachVgpu(info: VgpuInfo): Handle {
      const dom = iovaGpa ? ctx.iommuDomain(info.id) : null;
      dom?.attach(); // VFIO attaches the device to the domain of the VM's container
      const v = new KvmVgpu(info, ctx.guestMemory(info.id), dom);
      if (displayNs > 0) ctx.after(displayNs, () => refresh(v));
      return v;
    },

    detachVgpu(h: Handle): void {
      const v = st(h);
      v.released = true;
      for (const e of [...v.dma.byGfn.values()]) unpin(v, e);
      v.tracked.clear();
      v.trackedCount = 0;
      v.eventfd = false;
      v.shown.clear(); // the mediator released the exports with the vGPU
    },

    injectMsi(h: Handle, addr: number, data: number): boolean {
      const v = st(h);
      if (!v.eventfd) {
        ctx.count("msi_dropped_no_eventfd");
        return false;
      }
      ctx.count("msi_signalled");
      ctx.deliverMsi(v.info.id, addr, data, C.irqfd);
      return true;
    },

    enablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (!isBacked(v, gfn)) return MPT_EINVAL;
      if (v.tracked.get(gfn) === 0) {
        v.tracked.set(gfn, 1);
        v.trackedCount++;
      }
      return MPT_OK;
    },

    disablePageTrack(h: Handle, gfn: number): number {
      const v = st(h);
      if (!isBacked(v, gfn)) return MPT_EINVAL;
      if (v.tracked.get(gfn) === 1) {
        v.tracked.set(gfn, 0);
        v.trackedCount--;
      }
      return MPT_OK;
    },

    readGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return copyGpa(ctx, st(h).mem, gpa, buf, false, C.gpaKib);
    },

    writeGpa(h: Handle, gpa: number, buf: Uint8Array): number {
      return copyGpa(ctx, st(h).mem, gpa, buf, true, C.gpaKib);
    },

    gfnToMfn(h: Handle, gfn: number): number {
      const v = st(h);
      return isBacked(v, gfn) ? v.mem.mfnOf(gfn) : -1;
    },

    dmaMapGuestPage(h: Handle, gfn: number, size: number): number {
      const v = st(h);
      if (size !== PAGE_SIZE && size !== PAGE_SIZE_2M) return MPT_EINVAL;
      let e = v.dma.byGfn.get(gfn);
      if (e !== undefined && e.size !== size) {
        // same gfn mapped with another size: drop the old mapping and map again
        unpin(v, e);
        e = undefined;
      }
      if (e !== undefined) {
        e.ref++;
        ctx.count("dma_cache_hit");
        return e.dma;
      }
      ctx.count("dma_cache_miss");
      const dma = mapPage(v, gfn, size);
      if (dma < 0) return dma;
      e = new GvtDma(gfn, dma, size, 1);
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
      if (--e.ref === 0) unpin(v, e);
    },

    dmaPinGuestPage(h: Handle, dma: number): number {
      const e = st(h).dma.byDma.get(dma);
      if (e === undefined) return MPT_ENOMEM;
      e.ref++;
      return MPT_OK;
    },

    isValidGfn(h: Handle, gfn: number): boolean {
      return isBacked(st(h), gfn);
    },

    setOpregion(h: Handle): number {
      st(h).opregion = true;
      return MPT_OK;
    },

    setEdid(h: Handle, port: number): number {
      if (!Number.isInteger(port) || port < 0 || port > 30) return MPT_EINVAL;
      st(h).edidPorts |= 1 << port;
      return MPT_OK;
    },

    getVfioDevice(h: Handle): number {
      st(h).vfioRefs++;
      return MPT_OK;
    },

    putVfioDevice(h: Handle): void {
      const v = st(h);
      if (v.vfioRefs > 0) v.vfioRefs--;
    },

    guestMmioRead(h: Handle, gpa: number, size: number): number {
      const v = st(h);
      ctx.count("mmio_exits");
      if (v.released) return allOnes(size);
      const bar0 = v.info.bar0;
      if (gpa >= bar0 && gpa + size <= bar0 + BAR0_SIZE) {
        return bar0Access(v, gpa - bar0, size, false, 0);
      }
      const cfg = v.info.cfg;
      if (cfg !== undefined && gpa >= cfg && gpa + size <= cfg + PCI_CFG_SPACE_EXP_SIZE) {
        return cfgRead(v, gpa - cfg, size);
      }
      ctx.count("unassigned_access");
      return allOnes(size);
    },

    guestMmioWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      ctx.count("mmio_exits");
      if (v.released) return;
      const bar0 = v.info.bar0;
      if (gpa >= bar0 && gpa + size <= bar0 + BAR0_SIZE) {
        bar0Access(v, gpa - bar0, size, true, value);
        return;
      }
      const cfg = v.info.cfg;
      if (cfg !== undefined && gpa >= cfg && gpa + size <= cfg + PCI_CFG_SPACE_EXP_SIZE) {
        cfgWrite(v, gpa - cfg, size, value);
        return;
      }
      ctx.count("unassigned_access");
    },

    guestMemWrite(h: Handle, gpa: number, size: number, value: number): void {
      const v = st(h);
      const gfn = Math.floor(gpa / PAGE_SIZE);
      if (gfn >= 0 && gfn < v.tracked.length && v.tracked.get(gfn) === 1 && ops !== null) {
        ctx.charge(C.ptFault);
        ctx.count("page_track_faults");
        ops.writeProtectHandler(v.info.id, gpa, size, value);
        return;
      }
      const n = v.store.views[size] === undefined ? 8 : size; // a size it cannot store: 8 bytes
      if (!v.store.write(v.mem, gpa, n, value)) ctx.count("guest_write_faults");
    },

    dirtyLog(h: Handle, on: boolean): number {
      const v = st(h);
      if (v.mem.logDirty === undefined) return MPT_EINVAL; // memory without dirty tracking
      ctx.charge(C.dirtyToggle);
      v.mem.logDirty(on);
      v.dirtyLogging = on;
      return MPT_OK;
    },

    dirtyLogSync(h: Handle, bitmap: Uint8Array): number {
      const v = st(h);
      if (!v.dirtyLogging || v.mem.takeDirty === undefined) return MPT_EINVAL;
      const n = v.mem.takeDirty(bitmap);
      ctx.charge(C.dirtyGet + C.dirtyPage * Math.max(0, n));
      ctx.count("dirty_log_pages", Math.max(0, n));
      return n < 0 ? MPT_EINVAL : MPT_OK;
    },

    save(h: Handle): unknown {
      const v = st(h);
      return {
        tracked: sparseFrames(v.tracked),
        trackedCount: v.trackedCount,
        ...v.dma.save((e) => [e.gfn, e.dma, e.size, e.ref]),
        eventfd: v.eventfd,
        dirtyLogging: v.dirtyLogging,
        released: v.released,
        msiCap: v.msiCap,
        afCap: v.afCap,
        vfioRefs: v.vfioRefs,
        shown: [...v.shown],
        opregion: v.opregion,
        edidPorts: v.edidPorts,
      };
    },

    restore(h: Handle, state: unknown): void {
      const v = st(h), s = record(state);
      loadSparseFrames(v.tracked, s.tracked, "tracked pages");
      const old = [...v.dma.byGfn.values()];
      v.dma.load(s, 5, ([gfn, dma, size, ref]) => new GvtDma(gfn, dma, size, ref));
      v.trackedCount = num(s, "trackedCount");
      for (const e of old) if (v.dom !== null) unmapIova(v, e.gfn, e.size / PAGE_SIZE);
      for (const e of v.dma.byGfn.values()) {
        // the domain's mappings follow the restored pins (mapping a page again is harmless)
        if (v.dom !== null && mapIova(v, e.gfn, e.size / PAGE_SIZE) !== e.dma) {
          throw new Error(`saved mapping of gfn ${e.gfn} cannot be mapped again`);
        }
      }
      v.eventfd = bool(s, "eventfd");
      v.dirtyLogging = s.dirtyLogging === true;
      v.released = s.released === true;
      v.msiCap = num(s, "msiCap");
      v.afCap = num(s, "afCap");
      v.vfioRefs = num(s, "vfioRefs");
      v.shown.clear();
      for (const [dmabuf, handle] of rows(s, "shown", 2)) v.shown.set(dmabuf, handle);
      v.opregion = bool(s, "opregion");
      v.edidPorts = num(s, "edidPorts");
    },
  };
  return backend;
};

export default createKvmBackend;
