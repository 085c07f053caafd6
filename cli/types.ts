/**
 * `gvtsim types`: the vGPU types with their resources and available instances for one or
 * more aperture sizes, like reading vfio-mdev's `mdev_supported_types/<type>/` files.
 */

import type { VgpuTypeSpec } from "../core/scenario.ts";
import { availableInstances, BUILTIN_TYPES, initialFree } from "../core/vgpu_types.ts";
import { formatBytes, table } from "./table.ts";

/** Host parameters the instance counts depend on. */
export interface TypesHost {
  /** GGTT size (bytes). */
  ggtt: number;
  /** Physical fences. */
  fences: number;
  /** Aperture the host keeps. */
  hostAperture: number;
  /** Hidden memory the host keeps. */
  hostHidden: number;
  /** Fences the host keeps. */
  hostFences: number;
}

/** Skylake defaults (docs/domain.md section 2). */
export const DEFAULT_TYPES_HOST: TypesHost = {
  ggtt: 4 * 1024 ** 3,
  fences: 32,
  hostAperture: 128 * 1024 ** 2,
  hostHidden: 384 * 1024 ** 2,
  hostFences: 4,
};

/** One vGPU type with what it needs and how many fit, as `types --json` prints it. */
export interface TypeInfo {
  /** The mdev type name, e.g. `i915-GVTg_V5_4`. */
  mdev: string;
  /** The type's short name, e.g. `V5_4`. */
  type: string;
  /** Aperture per instance (bytes). */
  aperture: number;
  /** Hidden GGTT memory per instance (bytes). */
  hidden: number;
  /** Fence registers per instance. */
  fences: number;
  /** Scheduler weight. */
  weight: number;
  /** Display resolution, `WxH`. */
  resolution: string;
  /** Available instances on an empty host, by host aperture size (bytes, as a string key). */
  available: Record<string, number>;
}

/** The types with their resources and available instances for each aperture size. */
export function typesInfo(
  apertures: number[],
  types: readonly VgpuTypeSpec[] = BUILTIN_TYPES,
  host: TypesHost = DEFAULT_TYPES_HOST,
): TypeInfo[] {
  return types.map((t) => ({
    mdev: `i915-GVTg_${t.name}`,
    type: t.name,
    aperture: t.aperture,
    hidden: t.hidden,
    fences: t.fences,
    weight: t.weight,
    resolution: `${t.width}x${t.height}`,
    available: Object.fromEntries(
      apertures.map((
        a,
      ) => [String(a), availableInstances(t, initialFree({ ...host, aperture: a }))]),
    ),
  }));
}

/** Renders the types table: one `available (aperture X)` column per aperture size. */
export function typesTable(
  apertures: number[],
  types: readonly VgpuTypeSpec[] = BUILTIN_TYPES,
  host: TypesHost = DEFAULT_TYPES_HOST,
): string {
  const head = ["type", "aperture", "hidden", "fences", "weight", "resolution"];
  for (const a of apertures) head.push(`avail@${formatBytes(a)}`);
  const rows = typesInfo(apertures, types, host).map((t) => [
    t.mdev,
    formatBytes(t.aperture),
    formatBytes(t.hidden),
    String(t.fences),
    String(t.weight),
    t.resolution,
    ...apertures.map((a) => String(t.available[String(a)])),
  ]);
  return table(head, rows);
}
