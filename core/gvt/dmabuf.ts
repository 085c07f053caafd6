/**
 * Plane query and dma-buf export (i915 gvt/dmabuf.c): how a hypervisor's display (a device
 * model's console) shows a guest's screen without copying it. The backend asks
 * {@link DmabufExport.queryPlane} for the guest's primary plane (`intel_vgpu_query_plane`,
 * VFIO_DEVICE_QUERY_GFX_PLANE): the mediator decodes the plane registers, checks that the
 * framebuffer lies in the vGPU's GGTT slices and hands out a dma-buf object id, the same one
 * while the framebuffer does not change; a new object holds a reference on the device
 * (`getVfioDevice`). {@link DmabufExport.getDmabuf} exports the object
 * (`intel_vgpu_get_dmabuf`, VFIO_DEVICE_GET_GFX_DMABUF): every page's device address, read from
 * the framebuffer's GGTT entries, is pinned (`dmaPinGuestPage`, as `vgpu_gem_get_pages`), so
 * the pages stay while the display reads them even if the guest remaps them.
 * {@link DmabufExport.putDmabuf} is the display closing it: the pins go (`dmaUnmapGuestPage`)
 * and, with the object's last reference, the device reference (`putVfioDevice`).
 * Destroying the vGPU releases whatever is left (`intel_vgpu_dmabuf_cleanup`).
 */

import { PAGE_SIZE } from "../hw/memory.ts";
import { DISPLAY_PLANE_ENABLE, DSPCNTR_A, DSPSTRIDE_A, DSPSURF_A } from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import {
  MPT_EFAULT,
  MPT_EINVAL,
  PLANE_CURSOR,
  PLANE_PRIMARY,
  type PlaneInfo,
} from "../mpt/types.ts";
import type { Vgpu } from "./vgpu_state.ts";

/** DRM_FORMAT_XRGB8888 ('XR24'), the format of the guest's framebuffers. */
export const DRM_FORMAT_XRGB8888 = 0x34325258;

/** One dma-buf object (`struct intel_vgpu_dmabuf_obj`). */
export class DmabufObject {
  /** References: exports, plus one between the query and the first export. */
  refs = 1;
  /** The query's reference is still held (`initref`). */
  initref = true;

  /**
   * Creates it.
   * @param id dma-buf id
   * @param start framebuffer graphics address
   * @param size framebuffer bytes
   * @param stride bytes per line
   */
  constructor(
    readonly id: number,
    readonly start: number,
    readonly size: number,
    readonly stride: number,
  ) {}
}

/** One export of an object: the device addresses it pinned. */
export class DmabufHandle {
  /**
   * Creates it.
   * @param obj the object
   * @param pinned device address of every framebuffer page, pinned
   */
  constructor(readonly obj: DmabufObject, readonly pinned: Float64Array) {}
}

/** A vGPU's dma-buf objects and exports. */
export class VgpuDmabufs {
  /** Objects by id. */
  readonly objects: Map<number, DmabufObject> = new Map();
  /** Exports by handle. */
  readonly exports: Map<number, DmabufHandle> = new Map();
  /** Next object id (ids start at 1). */
  nextId = 1;
  /** Next export handle. */
  nextHandle = 1;
}

/** Plane query and dma-buf export over the MPT gate. */
export class DmabufExport {
  /** @param gate the MPT gate (device references, DMA pins) */
  constructor(private readonly gate: MptGate) {}

  /**
   * The guest's plane `plane` ({@link PLANE_PRIMARY}; the cursor is never enabled here): its
   * info with a dma-buf id, 0 when it is not ready (disabled), a negative errno otherwise.
   */
  queryPlane(v: Vgpu, plane: number): PlaneInfo | number {
    if (plane === PLANE_CURSOR) return 0;
    if (plane !== PLANE_PRIMARY) return MPT_EINVAL;
    const r = v.vreg;
    if ((r[DSPCNTR_A >>> 2] & DISPLAY_PLANE_ENABLE) === 0) return 0;
    const start = r[DSPSURF_A >>> 2] >>> 0;
    const stride = r[DSPSTRIDE_A >>> 2] >>> 0;
    const size = stride * v.type.height;
    if (size === 0) return MPT_EINVAL;
    if (start % PAGE_SIZE !== 0 || !inSlices(v, start, size)) return MPT_EFAULT;
    const d = v.dmabufs;
    let obj: DmabufObject | undefined;
    for (const o of d.objects.values()) {
      if (o.start === start && o.size === size && o.stride === stride) obj = o;
    }
    if (obj === undefined) {
      const got = this.gate.getVfioDevice(v.id);
      if (got < 0) return got;
      obj = new DmabufObject(d.nextId++, start, size, stride);
      d.objects.set(obj.id, obj);
      v.counters.dmabufObjects++;
    } else if (!obj.initref) {
      obj.initref = true; // held until the export, so it cannot go away in between
      obj.refs++;
    }
    return {
      dmabufId: obj.id,
      start,
      width: v.type.width,
      height: v.type.height,
      stride,
      size,
      drmFormat: DRM_FORMAT_XRGB8888,
    };
  }

  /**
   * Exports object `id`: pins every framebuffer page's device address; an export handle
   * (> 0), or a negative errno (nothing stays pinned).
   */
  getDmabuf(v: Vgpu, id: number): number {
    const d = v.dmabufs;
    const obj = d.objects.get(id);
    if (obj === undefined) return MPT_EINVAL;
    const pages = Math.ceil(obj.size / PAGE_SIZE);
    const pinned = new Float64Array(pages);
    for (let i = 0; i < pages; i++) {
      const s = v.ggtt.slot(obj.start / PAGE_SIZE + i);
      const dma = s < 0 ? -1 : v.ggtt.dma[s];
      if (dma < 0 || this.gate.dmaPinGuestPage(v.id, dma) < 0) {
        for (let k = 0; k < i; k++) this.gate.dmaUnmapGuestPage(v.id, pinned[k]);
        return MPT_EINVAL;
      }
      pinned[i] = dma;
    }
    const handle = d.nextHandle++;
    d.exports.set(handle, new DmabufHandle(obj, pinned));
    obj.refs++;
    v.counters.dmabufExports++;
    if (obj.initref) {
      obj.initref = false;
      this.release(v, obj);
    }
    return handle;
  }

  /** The display closed export `handle`: unpins its pages, drops its object reference. */
  putDmabuf(v: Vgpu, handle: number): void {
    const e = v.dmabufs.exports.get(handle);
    if (e === undefined) return;
    v.dmabufs.exports.delete(handle);
    for (const dma of e.pinned) this.gate.dmaUnmapGuestPage(v.id, dma);
    this.release(v, e.obj);
  }

  /** Releases everything of a vGPU that is going away. */
  cleanup(v: Vgpu): void {
    for (const h of [...v.dmabufs.exports.keys()]) this.putDmabuf(v, h);
    for (let n = v.dmabufs.objects.size; n > 0; n--) this.gate.putVfioDevice(v.id);
    v.dmabufs.objects.clear();
  }

  /** Drops one reference; the object goes with the last, and its device reference. */
  private release(v: Vgpu, obj: DmabufObject): void {
    if (--obj.refs > 0) return;
    v.dmabufs.objects.delete(obj.id);
    this.gate.putVfioDevice(v.id);
  }
}

/** True if [start, start + size) lies in one of the vGPU's GGTT slices. */
function inSlices(v: Vgpu, start: number, size: number): boolean {
  const a = v.res.aperture, h = v.res.hidden;
  return (start >= a.base && start + size <= a.base + a.size) ||
    (start >= h.base && start + size <= h.base + h.size);
}
