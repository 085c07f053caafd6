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

/** Renders the types table: one `available (aperture X)` column per aperture size. */
export function typesTable(
  apertures: number[],
  types: readonly VgpuTypeSpec[] = BUILTIN_TYPES,
  host: TypesHost = DEFAULT_TYPES_HOST,
): string {
  const head = ["type", "aperture", "hidden", "fences", "weight", "resolution"];
  for (const a of apertures) head.push(`avail@${formatBytes(a)}`);
  const rows = types.map((t) => {
    const row = [
      `i915-GVTg_${t.name}`,
      formatBytes(t.aperture),
      formatBytes(t.hidden),
      String(t.fences),
      String(t.weight),
      `${t.width}x${t.height}`,
    ];
    for (const a of apertures) {
      row.push(String(availableInstances(t, initialFree({ ...host, aperture: a }))));
    }
    return row;
  });
  return table(head, rows);
}
