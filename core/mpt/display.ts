/**
 * A display console for backends whose device model shows the guests' screens without
 * copying them: every refresh queries the vGPU's primary plane, exports the plane's dma-buf
 * the first time it is shown and closes the exports of framebuffers no longer shown (upstream:
 * the type-2 device model's dma-buf display update; its "free dmabufs" step). Exporting pins
 * the framebuffer's pages (`dmaPinGuestPage`) and takes a device reference
 * (`getVfioDevice`); closing the last export of an object drops both. One implementation for
 * backends with a display console of their own and the conformance kit's whole-system stage.
 * @module
 */

import { type GvtOps, PLANE_PRIMARY } from "./types.ts";

/** What one {@link refreshConsole} did. */
export interface ConsoleRefresh {
  /** dma-bufs exported (0 or 1). */
  exported: number;
  /** Exports the core refused (0 or 1). */
  failed: number;
  /** Exports closed because their framebuffer is not shown any more. */
  closed: number;
}

/**
 * One console refresh of vGPU `vgpuId`'s primary plane. `shown` (dma-buf id -> export
 * handle) is the console's state, kept by the caller between refreshes; a plane that is not
 * ready (or an error) changes nothing.
 */
export function refreshConsole(
  ops: GvtOps,
  vgpuId: number,
  shown: Map<number, number>,
): ConsoleRefresh {
  const r: ConsoleRefresh = { exported: 0, failed: 0, closed: 0 };
  const plane = ops.vgpuQueryPlane(vgpuId, PLANE_PRIMARY);
  if (typeof plane !== "object") return r;
  if (!shown.has(plane.dmabufId)) {
    const handle = ops.vgpuGetDmabuf(vgpuId, plane.dmabufId);
    if (handle > 0) {
      shown.set(plane.dmabufId, handle);
      r.exported++;
    } else r.failed++;
  }
  for (const [dmabuf, handle] of shown) {
    if (dmabuf === plane.dmabufId) continue;
    ops.vgpuPutDmabuf(vgpuId, handle);
    shown.delete(dmabuf);
    r.closed++;
  }
  return r;
}
