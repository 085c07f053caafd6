/**
 * vGPU types and graphics-memory partitioning (docs/domain.md section 2, i915 gvt/vgpu.c
 * `intel_gvt_init_vgpu_types` / `intel_gvt_update_vgpu_types`).
 */

import type { VgpuTypeSpec } from "./scenario.ts";

const MiB = 1024 * 1024;

/** The largest vGPU id; 0 is the idle vGPU, so at most 7 vGPUs exist at once. */
export const GVT_MAX_VGPU = 7;

/**
 * Built-in gen9 types (`GVTg_V5_<n>`). The gen8 names (`V4_<n>`) are aliases with the
 * same resources.
 */
export const BUILTIN_TYPES: readonly VgpuTypeSpec[] = [
  {
    name: "V5_8",
    aperture: 64 * MiB,
    hidden: 384 * MiB,
    fences: 4,
    weight: 2,
    width: 1024,
    height: 768,
  },
  {
    name: "V5_4",
    aperture: 128 * MiB,
    hidden: 512 * MiB,
    fences: 4,
    weight: 4,
    width: 1920,
    height: 1200,
  },
  {
    name: "V5_2",
    aperture: 256 * MiB,
    hidden: 1024 * MiB,
    fences: 4,
    weight: 8,
    width: 1920,
    height: 1200,
  },
  {
    name: "V5_1",
    aperture: 512 * MiB,
    hidden: 2048 * MiB,
    fences: 4,
    weight: 16,
    width: 1920,
    height: 1200,
  },
];

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
 * (free / per-instance need), and the id limit.
 */
export function availableInstances(t: VgpuTypeSpec, free: FreeResources): number {
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
  },
): FreeResources {
  return {
    aperture: host.aperture - host.hostAperture,
    hidden: host.ggtt - host.aperture - host.hostHidden,
    fences: host.fences - host.hostFences,
    ids: GVT_MAX_VGPU,
  };
}

/** Finds a type by name, accepting the gen8 alias `V4_<n>` and the `GVTg_` prefix. */
export function findType(
  types: readonly VgpuTypeSpec[],
  name: string,
): VgpuTypeSpec | undefined {
  const bare = name.replace(/^GVTg_/, "");
  return types.find((t) => t.name === bare) ??
    types.find((t) => t.name === bare.replace(/^V4_/, "V5_"));
}
