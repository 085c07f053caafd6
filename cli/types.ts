/**
 * `gvtsim types`: the vGPU types with their resources and available instances for one or
 * more aperture sizes, like reading vfio-mdev's `mdev_supported_types/<type>/` files. Given a
 * scenario, its hosts (GGTT, fences, what the host keeps, `gscale`) and its types instead.
 */

import type { HostSpec, VgpuTypeSpec } from "../core/scenario.ts";
import { availableInstances, BUILTIN_TYPES, initialFree } from "../core/vgpu_types.ts";
import { formatResult, loadScenario } from "../dsl/mod.ts";
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
  /** gScale mode: slices shared, fences pooled, so only the id limit caps a type that fits. */
  gscale?: boolean;
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
  /** The scenario host these counts are for (`types SCENARIO` with several hosts). */
  host?: string;
  /** Present (true) when that host is in gScale mode. */
  gscale?: true;
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
      ) => [
        String(a),
        availableInstances(t, initialFree({ ...host, aperture: a }), host.gscale === true),
      ]),
    ),
    ...(host.gscale ? { gscale: true as const } : {}),
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

/** Options of {@link typesOfScenario}. */
export interface ScenarioTypesOptions {
  /** Aperture sizes instead of each host's own. */
  apertures: readonly number[];
  /** Scenario parameter values, `NAME=VALUE` each (`-D`). */
  defines: readonly string[];
  /** Print JSON (one {@link TypeInfo} per type and host) instead of tables. */
  json: boolean;
}

/**
 * `gvtsim types SCENARIO`: the scenario's types on each of its hosts as declared (empty),
 * one table per host. Returns the exit code (2: the scenario has errors, printed to stderr).
 */
export function typesOfScenario(path: string, o: ScenarioTypesOptions): number {
  const r = loadScenario(path, { defines: o.defines });
  if (!r.scenario) {
    console.error(formatResult(r).trimEnd());
    return 2;
  }
  const s = r.scenario;
  const hosts: { name?: string; host: HostSpec }[] = s.hosts ?? [{ host: s.host }];
  const infos: TypeInfo[] = [];
  const texts: string[] = [];
  for (const { name, host } of hosts) {
    const aps = o.apertures.length ? [...o.apertures] : [host.aperture];
    const info = typesInfo(aps, s.types, host);
    infos.push(...info.map((t) => name === undefined ? t : { ...t, host: name }));
    texts.push(
      `host${name === undefined ? "" : ` ${name}`} ${host.gpu}: GGTT ${formatBytes(host.ggtt)}, ` +
        `${host.fences} fences, gscale ${host.gscale ? "on" : "off"}\n` +
        typesTable(aps, s.types, host),
    );
  }
  console.log(o.json ? JSON.stringify(infos, null, 2) : texts.join("\n"));
  return 0;
}
