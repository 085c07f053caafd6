/**
 * vGPU types and graphics-memory partitioning (docs/domain.md section 2, i915 gvt/vgpu.c
 * `intel_gvt_init_vgpu_types` / `intel_gvt_update_vgpu_types`).
 */

import type { VgpuTypeSpec } from "./scenario.ts";

const MiB = 1024 * 1024;

/** The largest vGPU id; 0 is the idle vGPU, so at most 7 vGPUs exist at once. */
export const GVT_MAX_VGPU = 7;

/**
 * The largest vGPU id with `gscale on`. Graphics memory and fences no longer bound the count
 * (slices are shared, fences pooled), so the bound is the narrowest field a vGPU id travels
 * in: the mediator's shadow context id is `(vgpu id << 20) | sequence` in the 32-bit upper
 * dword of the ELSP descriptor (core/gvt/dispatch.ts), which leaves 12 bits for the id.
 * (PVINFO `vgt_id` is 32 bits wide and the owner tags of host frames are 32 bits.)
 */
export const GSCALE_MAX_VGPU = 4095;

/**
 * The fence memory space pool of gScale mode: the top of the aperture the mediator keeps
 * for fenced (tiled) ranges, which ladder mapping would otherwise bypass (core/gvt/gscale.ts).
 */
export const GSCALE_FENCE_POOL = 32 * MiB;

/**
 * The built-in types of a platform (vgpu.c `intel_gvt_init_vgpu_types`: `vgpu_types[]`, named
 * `GVTg_V4_<n>` on gen8 (Broadwell) and `GVTg_V5_<n>` on gen9): the same resources on every
 * platform, `prefix` ("V4" or "V5", Platform.typePrefix) in the name.
 */
export function builtinTypes(prefix: "V4" | "V5"): VgpuTypeSpec[] {
  return [
    { n: 8, aperture: 64, hidden: 384, weight: 2, width: 1024, height: 768 },
    { n: 4, aperture: 128, hidden: 512, weight: 4, width: 1920, height: 1200 },
    { n: 2, aperture: 256, hidden: 1024, weight: 8, width: 1920, height: 1200 },
    { n: 1, aperture: 512, hidden: 2048, weight: 16, width: 1920, height: 1200 },
  ].map((t) => ({
    name: `${prefix}_${t.n}`,
    aperture: t.aperture * MiB,
    hidden: t.hidden * MiB,
    fences: 4,
    weight: t.weight,
    width: t.width,
    height: t.height,
  }));
}

/** Built-in gen9 types (`GVTg_V5_<n>`), the default (Skylake) host's. */
export const BUILTIN_TYPES: readonly VgpuTypeSpec[] = builtinTypes("V5");

/** Free graphics resources of a host. */
export interface FreeResources {
  /** Free aperture (bytes). */
  aperture: number;
  /** Free hidden memory (bytes). */
  hidden: number;
  /** Free fence registers. */
  fences: number;
  /** vGPU ids still free. */
  ids: number;
}

/**
 * Available instances of a type: min over aperture, hidden and fences of
 * (free / per-instance need), and the id limit. With `shared` (gScale mode) slices are
 * shared and fences pooled: a type that fits the sharable ranges at all is limited by ids.
 */
export function availableInstances(
  t: VgpuTypeSpec,
  free: FreeResources,
  shared = false,
): number {
  if (shared) {
    return t.aperture <= free.aperture && t.hidden <= free.hidden ? Math.max(0, free.ids) : 0;
  }
  return Math.max(
    0,
    Math.min(
      Math.floor(free.aperture / t.aperture),
      Math.floor(free.hidden / t.hidden),
      Math.floor(free.fences / t.fences),
      free.ids,
    ),
  );
}

/** A host's resources before any vGPU exists: total minus what the host keeps. */
export function initialFree(
  host: {
    aperture: number;
    ggtt: number;
    fences: number;
    hostAperture: number;
    hostHidden: number;
    hostFences: number;
    gscale?: boolean;
  },
): FreeResources {
  const shared = host.gscale === true;
  return {
    aperture: host.aperture - host.hostAperture - (shared ? GSCALE_FENCE_POOL : 0),
    hidden: host.ggtt - host.aperture - host.hostHidden,
    fences: host.fences - host.hostFences,
    ids: shared ? GSCALE_MAX_VGPU : GVT_MAX_VGPU,
  };
}

/** Finds a type by name; the `GVTg_` prefix of mdev type names is optional. */
export function findType(
  types: readonly VgpuTypeSpec[],
  name: string,
): VgpuTypeSpec | undefined {
  const bare = name.replace(/^GVTg_/, "");
  return types.find((t) => t.name === bare);
}
