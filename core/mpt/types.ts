/**
 * The MPT ("mediated pass-through") interface: everything the GVT-g core needs from a
 * hypervisor, after i915's `struct intel_gvt_mpt` (docs/domain.md section 1). A backend is a
 * plugin: an ES module whose default export is a {@link BackendFactory}.
 *
 * Two directions:
 * - core -> backend: the MPT ops (`attachVgpu`, `injectMsi`, `dmaMapGuestPage`, ...).
 * - guest -> backend -> core: the hypervisor's trap path. The guest CPU model calls the
 *   backend's `guest*` entry points for every BAR0 access and every write to guest RAM; the
 *   backend decides what traps (all of BAR0, write-protected pages) and forwards trapped
 *   accesses to the core through the {@link GvtOps} it got in `hostInit`.
 *
 * Time: every op takes simulated time. The core charges `costs[op]` for each call, and a
 * backend adds variable work (a cache miss, a chunked hypercall) with `ctx.charge(ns)`.
 */

import { OPTIONAL_OP_NAMES, REQUIRED_OP_NAMES } from "./ops.ts";

/** Bytes of a guest page: a gfn is a guest-physical address / PAGE_SIZE. */
export { PAGE_SIZE } from "../hw/memory.ts";
/** Bytes of a 2 MiB page, the other size `dmaMapGuestPage` maps. */
export { PAGE_SIZE_2M } from "../hw/pte.ts";

/**
 * The version of the MPT contract this gvtsim implements. A backend declares the version it
 * was written for as {@link MptBackend.contract}; the loader accepts it from
 * {@link MPT_CONTRACT_OLDEST} (what changed since only added to what a backend may use) up to
 * this one and refuses any other. Version 2: `isValidGfn` and `detachVgpu` optional (as
 * upstream), 2 MiB DMA mappings must reach exactly the guest's frames, life-cycle callbacks
 * in {@link GvtOps} (reset on a guest FLR, activate, deactivate). Version 3: IOMMU domains
 * (`BackendContext.iommuDomain`: device addresses may be IOVAs), `GvtOps.vgpuCreate` /
 * `vgpuDestroy`, the display's plane query and dma-buf export (`GvtOps.vgpuQueryPlane`,
 * `vgpuGetDmabuf`, `vgpuPutDmabuf`), `VgpuInfo.type`.
 */
export const MPT_CONTRACT_VERSION = 3;
/** The oldest contract version a backend may still declare (see {@link MPT_CONTRACT_VERSION}). */
export const MPT_CONTRACT_OLDEST = 2;

/** Result codes of ops that can fail (0 = ok), as the kernel's negative errno values. */
export const MPT_OK = 0;
/** Invalid argument. */
export const MPT_EINVAL: number = -22;
/** Out of memory / cannot pin. */
export const MPT_ENOMEM: number = -12;
/** Bad address (gfn not backed). */
export const MPT_EFAULT: number = -14;
/** I/O error (a failed hypercall). */
export const MPT_EIO: number = -5;
/** Busy (e.g. the VM already has a vGPU). */
export const MPT_EBUSY: number = -16;
/** No such device (e.g. no VM host to create a vGPU for). */
export const MPT_ENODEV: number = -19;
/** No space left (the vGPU type does not fit). */
export const MPT_ENOSPC: number = -28;

/** What the backend is told about a vGPU when it is attached. */
export interface VgpuInfo {
  /** vGPU id (1..7). */
  id: number;
  /** VM name. */
  vm: string;
  /** Guest RAM size (bytes). */
  memory: number;
  /** Guest vCPUs. */
  vcpus: number;
  /** Guest-physical base of BAR0 (the trap area). */
  bar0: number;
  /** Guest-physical base of BAR2 (the aperture slice as the guest sees it). */
  bar2: number;
  /** The vGPU type (what `GvtOps.vgpuCreate` takes to create one like it again). */
  type?: string;
  /**
   * Guest-physical base of the device's 4 KiB PCI config-space window (ECAM), where the
   * guest CPU model reads and writes config space through `guestMmioRead/Write`; absent:
   * config space is not reachable by guest accesses.
   */
  cfg?: number;
}

/** An opaque per-vGPU backend handle (the backend's own state object). */
export type Handle = unknown;

/** `GvtOps.vgpuQueryPlane`'s plane: the primary plane (DRM_PLANE_TYPE_PRIMARY). */
export const PLANE_PRIMARY = 1;
/** `GvtOps.vgpuQueryPlane`'s plane: the cursor plane (DRM_PLANE_TYPE_CURSOR). */
export const PLANE_CURSOR = 2;

/** A guest display plane as `GvtOps.vgpuQueryPlane` describes it (`vfio_device_gfx_plane_info`). */
export interface PlaneInfo {
  /** The dma-buf object of the plane's current framebuffer (the same while it is unchanged). */
  dmabufId: number;
  /** The framebuffer's graphics address (in the vGPU's GGTT slices). */
  start: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Bytes per line. */
  stride: number;
  /** Bytes. */
  size: number;
  /** DRM fourcc of the pixel format. */
  drmFormat: number;
}

/** Callbacks the core gives a backend in `hostInit` (i915's `intel_gvt_ops`). */
export interface GvtOps {
  /** Emulate a trapped BAR0 read of `size` bytes at `offset` (0..16 MiB); returns the value. */
  emulateMmioRead(vgpuId: number, offset: number, size: number): number;
  /** Emulate a trapped BAR0 write (value holds `size` bytes, little endian; 8 bytes as a
   * number is exact up to 2^53, GTT entries use at most 40 bits). */
  emulateMmioWrite(vgpuId: number, offset: number, size: number, value: number): void;
  /** Emulate a config-space read. */
  emulateCfgRead(vgpuId: number, offset: number, size: number): number;
  /** Emulate a config-space write. */
  emulateCfgWrite(vgpuId: number, offset: number, size: number, value: number): void;
  /** A write hit a write-protected guest page: the write has NOT been done; the core
   * applies it to guest memory (through writeGpa) and updates its shadows. */
  writeProtectHandler(vgpuId: number, gpa: number, size: number, value: number): void;
  /**
   * The hypervisor's toolstack creates a vGPU of `type` for VM `vm` and starts the VM with it
   * (`intel_gvt_ops.vgpu_create`, as a type-1 toolstack does when a domain with a vGPU is
   * created, or a type-2 one when a mediated device is created for a VM): the guest boots,
   * the vGPU is attached through
   * `attachVgpu` before this returns. Returns the new vGPU id, or a negative errno:
   * {@link MPT_EINVAL} unknown VM or type, {@link MPT_EBUSY} the VM already runs with a vGPU,
   * {@link MPT_ENOSPC} the type does not fit now, {@link MPT_ENODEV} no VMs to create for.
   */
  vgpuCreate(vm: string, type: string): number;
  /**
   * The toolstack destroys vGPU `vgpuId` with its VM's domain (`intel_gvt_ops.vgpu_destroy`):
   * the VM stops, the vGPU's resources are freed, `detachVgpu` is called before this
   * returns. 0, or {@link MPT_EINVAL} for an unknown vGPU.
   */
  vgpuDestroy(vgpuId: number): number;
  /**
   * The hypervisor resets the vGPU's device: a function-level reset the guest asked for in
   * config space (the AF capability's FLR bit), a device reset ioctl, a domain reboot. The
   * mediator does a device-model-level reset (`intel_gvt_ops.vgpu_reset`): engines, GTTs,
   * registers, config space; the backend drops its own per-device state (MSI enable) itself.
   */
  vgpuReset(vgpuId: number): void;
  /** The VM runs again: the mediator schedules the vGPU (`intel_gvt_ops.vgpu_activate`). */
  vgpuActivate(vgpuId: number): void;
  /**
   * The VM stopped running (its domain crashed or is being torn down): the mediator stops
   * scheduling the vGPU; work already on the GPU completes (`intel_gvt_ops.vgpu_deactivate`).
   */
  vgpuDeactivate(vgpuId: number): void;
  /**
   * The hypervisor's display asks for the guest's plane ({@link PLANE_PRIMARY} or
   * {@link PLANE_CURSOR}; `intel_gvt_ops.vgpu_query_plane`, VFIO_DEVICE_QUERY_GFX_PLANE):
   * its description with a dma-buf id, 0 when the plane is not ready, or a negative errno. A
   * new dma-buf object takes a device reference (`getVfioDevice`).
   */
  vgpuQueryPlane(vgpuId: number, plane: number): PlaneInfo | number;
  /**
   * Exports dma-buf object `dmabufId` (`intel_gvt_ops.vgpu_get_dmabuf`,
   * VFIO_DEVICE_GET_GFX_DMABUF): pins every framebuffer page (`dmaPinGuestPage`) and returns
   * an export handle (> 0), or a negative errno.
   */
  vgpuGetDmabuf(vgpuId: number, dmabufId: number): number;
  /**
   * The display closed an export (the dma-buf's last file reference went): its pages are
   * unpinned and, with the object's last reference, the device reference dropped
   * (`putVfioDevice`).
   */
  vgpuPutDmabuf(vgpuId: number, handle: number): void;
}

/**
 * One vGPU's IOMMU domain as its backend programs it (the hypervisor's DMA-remapping
 * interface: a type-2 host's IOMMU container, a type-1 hypervisor's IOMMU page tables,
 * ...). Until {@link attach} the
 * domain is passthrough: a device address `dmaMapGuestPage` returns is a host physical
 * address. After it, device addresses are IOVAs the backend chooses (e.g. IOVA = the guest
 * physical address): the GPU reaches, page by page, exactly the host frames mapped here.
 * The core detaches the domain and drops what is left when the vGPU is destroyed.
 */
export interface IommuDomainView {
  /** Whether translation is on (after {@link attach}). */
  readonly attached: boolean;
  /** IOVA pages mapped now. */
  readonly mappedPages: number;
  /** Turns translation on for this vGPU (`iommu_attach_device`). */
  attach(): void;
  /**
   * Maps the 4 KiB IOVA page at `iova` to host frame `mfn`; false if refused: an IOVA
   * outside the 39-bit device space (or the host's reserved last page), a frame outside host
   * memory, or a page already mapped to another frame. Mapping the same frame again is a
   * no-op (true).
   */
  map(iova: number, mfn: number): boolean;
  /** Unmaps the IOVA page at `iova` (nothing if it is not mapped). */
  unmap(iova: number): void;
  /** The host frame the IOVA page at `iova` maps to, or -1. */
  lookup(iova: number): number;
}

/** What a backend factory is given: only what a backend may touch. */
export interface BackendContext {
  /** Parameters the scenario set for this hypervisor. */
  readonly params: Readonly<Record<string, number | string | boolean>>;
  /** Current simulated time (ns). */
  now(): number;
  /** Adds `ns` of simulated time to the op being executed. */
  charge(ns: number): void;
  /** Runs `fn` after `ns` of simulated time (a backend's own timers, e.g. a flush). */
  after(ns: number, fn: () => void): void;
  /** Logs a line into the run's trace/log, tagged with the backend's name. */
  log(message: string): void;
  /** Counts a backend-specific event (appears in results under the backend's counters). */
  count(name: string, n?: number): void;
  /** The guest RAM of one attached VM: frames 0..frames-1, 4 KiB each. */
  guestMemory(vgpuId: number): GuestMemoryView;
  /** The IOMMU domain the GPU translates a vGPU's DMA addresses in. */
  iommuDomain(vgpuId: number): IommuDomainView;
  /**
   * Delivers an MSI (address, data) to the VM's virtual CPU after `delayNs` (the
   * hypervisor's interrupt-injection latency); the guest's interrupt handler runs then.
   */
  deliverMsi(vgpuId: number, addr: number, data: number, delayNs: number): void;
}

/** A backend's view of one VM's RAM. */
export interface GuestMemoryView {
  /** Number of 4 KiB guest frames. */
  readonly frames: number;
  /** Machine (host physical) frame backing `gfn`, or -1 if not backed. */
  mfnOf(gfn: number): number;
  /** Copies guest-physical bytes into `buf` (returns false if any frame is not backed). */
  read(gpa: number, buf: Uint8Array): boolean;
  /** Copies `buf` into guest-physical memory (returns false if any frame is not backed). */
  write(gpa: number, buf: Uint8Array): boolean;
  /** Is `gfn` RAM of this VM (a memslot), without allocating it? (absent: `mfnOf(gfn) >= 0`) */
  isBacked?(gfn: number): boolean;
  /**
   * Starts (empty) or stops the MMU's log of the guest's CPU writes (dirty bits or write
   * protection of all guest RAM). Absent: the memory keeps no log.
   */
  logDirty?(on: boolean): void;
  /**
   * Get-and-clear of that log: `into[gfn] = 1` for every frame the CPU wrote since the last
   * call; returns how many, or -1 if logging is off. GPU writes are never in it.
   */
  takeDirty?(into: Uint8Array): number;
}

/** Declared time costs in ns, by op name (plus backend-specific names). */
export type CostModel = Record<string, number>;

/**
 * A hypervisor backend. Required ops must be functions; optional ones may be absent (the
 * core then uses a generic fallback and reports which ops were native).
 */
export interface MptBackend {
  /** Backend name for reports and errors. */
  readonly name: string;
  /** The MPT contract version the backend was written for ({@link MPT_CONTRACT_VERSION}). */
  readonly contract: number;
  /** Declared costs (ns) per op; the core charges them per call. */
  readonly costs: CostModel;

  /** Registers the backend; gets the core's callbacks. (optional in later kernels) */
  hostInit?(ops: GvtOps): void;
  /** Unregisters the backend. */
  hostExit?(): void;
  /** Creates per-vGPU backend state. (optional in later kernels) */
  attachVgpu?(vgpu: VgpuInfo): Handle;
  /** Destroys per-vGPU state (optional, as upstream: absent, the gate just forgets the handle). */
  detachVgpu?(handle: Handle): void;
  /** Delivers the guest's MSI; returns false if it was dropped. */
  injectMsi(handle: Handle, addr: number, data: number): boolean;
  /** Host virtual address to machine frame (used for the OpRegion on type-1 hypervisors); -1 if unknown. */
  fromVirtToMfn?(addr: number): number;
  /** Write-protects one guest page; MPT_OK or a negative errno. */
  enablePageTrack(handle: Handle, gfn: number): number;
  /** Removes write protection. */
  disablePageTrack(handle: Handle, gfn: number): number;
  /** Copies guest-physical memory into `buf`. */
  readGpa(handle: Handle, gpa: number, buf: Uint8Array): number;
  /**
   * Copies `buf` into guest-physical memory. `buf` is read-only to the backend (the core may
   * pass shared bytes, such as zeros): copy from it, never write into it.
   */
  writeGpa(handle: Handle, gpa: number, buf: Uint8Array): number;
  /** Guest frame to machine frame, or -1. */
  gfnToMfn(handle: Handle, gfn: number): number;
  /** Pins a guest page (4 KiB or 2 MiB) and returns its device (DMA) address, or a negative errno. */
  dmaMapGuestPage(handle: Handle, gfn: number, size: number): number;
  /** Drops one reference of a mapping returned by dmaMapGuestPage. */
  dmaUnmapGuestPage(handle: Handle, dmaAddr: number): void;
  /** Takes one more reference on an existing mapping; MPT_OK or negative errno. */
  dmaPinGuestPage?(handle: Handle, dmaAddr: number): number;
  /** Maps the vGPU's aperture slice into guest-physical space (optional). */
  mapGfnToMfn?(handle: Handle, gfn: number, mfn: number, nr: number, map: boolean): number;
  /** Asks the hypervisor to trap a guest-physical range (BAR0) (optional). */
  setTrapArea?(handle: Handle, start: number, end: number, map: boolean): number;
  /** Is this guest frame backed? (optional, as upstream: absent, every gfn is valid and an
   * invalid one fails in `dmaMapGuestPage`) */
  isValidGfn?(handle: Handle, gfn: number): boolean;
  /** Exposes the virtual OpRegion. */
  setOpregion?(handle: Handle): number;
  /** Exposes a virtual EDID on a port. */
  setEdid?(handle: Handle, port: number): number;
  /** dma-buf export refcount. */
  getVfioDevice?(handle: Handle): number;
  /** dma-buf export refcount. */
  putVfioDevice?(handle: Handle): void;

  /** Guest CPU reads BAR0/BAR2/config space at `gpa`; returns the value read. */
  guestMmioRead(handle: Handle, gpa: number, size: number): number;
  /** Guest CPU writes BAR0 at `gpa`. */
  guestMmioWrite(handle: Handle, gpa: number, size: number, value: number): void;
  /** Guest CPU writes guest RAM (page tables, rings, batches): plain or trapped if tracked. */
  guestMemWrite(handle: Handle, gpa: number, size: number, value: number): void;
  /** Called when the vGPU is scheduled out (a backend with a dirty log flushes it here). */
  vgpuDescheduled?(handle: Handle): void;
  /**
   * Starts (`on`) or stops logging the VM's dirty guest pages for live migration; MPT_OK or a
   * negative errno.
   */
  dirtyLog?(handle: Handle, on: boolean): number;
  /**
   * Get-and-clear of the dirty log: sets `bitmap[gfn] = 1` for each page written since the
   * last call (or since logging started); MPT_OK or a negative errno.
   */
  dirtyLogSync?(handle: Handle, bitmap: Uint8Array): number;

  /** Whether the VM's domain was crashed by an emulation error (optional; type-1 designs). */
  crashed?(vgpuId: number): boolean;
  /**
   * The core reports that an op failed for this vGPU (e.g. an injected fault on the trap
   * path); a backend that treats that as an emulation error crashes the domain and returns
   * true (optional).
   */
  opFailed?(vgpuId: number, op: string): boolean;

  /** Serialises backend state for a snapshot (absent: the backend cannot be snapshotted). */
  save?(handle: Handle): unknown;
  /** Restores state saved by `save`. */
  restore?(handle: Handle, state: unknown): void;
}

/** A plugin module's default export. */
export type BackendFactory = (ctx: BackendContext) => MptBackend;

/** The name of an MPT op (a backend method), e.g. "dmaMapGuestPage". */
export type MptOpKey = Exclude<keyof MptBackend, "name" | "costs" | "contract">;

/** MPT ops that a backend must implement (the op table's required rows, core/mpt/ops.ts). */
export const REQUIRED_OPS: readonly MptOpKey[] = REQUIRED_OP_NAMES;

/** Optional ops: the gate falls back to the op table's generic behaviour when absent. */
export const OPTIONAL_OPS: readonly MptOpKey[] = OPTIONAL_OP_NAMES;
