/**
 * One call that sets up a hypervisor backend for a run: builds its {@link SimBackendContext}
 * from the scenario's parameters, loads the plugin through {@link loadBackend} (built-in
 * name, path or file URL alike), and wraps it in an {@link MptGate} with the scenario's
 * fault rules and cost overrides. Cost overrides that name an MPT op go to the gate; any
 * other name (a backend's own cost, e.g. a trap round trip) is passed to the backend as a
 * parameter, where built-in backends read their costs.
 */

import type { Sim } from "../sim/sim.ts";
import type { HypervisorSpec } from "../scenario.ts";
import { SimBackendContext } from "./context.ts";
import { type GateOptions, isMptOpName, MptGate } from "./gate.ts";
import {
  isLoadError,
  loadBackend,
  type LoadError,
  type PluginLoadOptions,
  type PluginSource,
} from "./loader.ts";

/** A backend ready for a run. */
export interface OpenedBackend {
  /** The gate the core and the guests call. */
  gate: MptGate;
  /** The backend's context (register guest memories and MSI receivers here). */
  ctx: SimBackendContext;
  /** Plugin label (file and backend name). */
  label: string;
  /** Module URL imported. */
  url: string;
  /** Which code ran (built-in name or plugin content hash). */
  source: PluginSource;
}

/** Loads and wraps the backend a scenario names; a {@link LoadError} if it cannot be loaded. */
export async function openBackend(
  sim: Sim,
  spec: Pick<HypervisorSpec, "name" | "params" | "costs" | "faults">,
  base?: string | URL,
  load: PluginLoadOptions = {},
  gateOptions: Pick<GateOptions, "maxVgpus"> = {},
): Promise<OpenedBackend | LoadError> {
  const opCosts: Record<string, number> = {};
  const params: Record<string, number | string | boolean> = { ...spec.params };
  for (const [k, v] of Object.entries(spec.costs)) {
    if (isMptOpName(k)) opCosts[k] = v;
    else params[k] = v;
  }
  const ctx = new SimBackendContext(sim, params);
  const loaded = await loadBackend(spec.name, ctx, base, load);
  if (isLoadError(loaded)) return loaded;
  ctx.label = loaded.label;
  const gate = new MptGate(sim, loaded.backend, loaded.label, spec.faults, {
    charged: ctx,
    costs: opCosts,
    ...gateOptions,
  });
  return { gate, ctx, label: loaded.label, url: loaded.url, source: loaded.source };
}
