/**
 * gvtsim: a scriptable emulator of mediated pass-through GPU virtualization (Intel GVT-g
 * style). The library API: load a scenario, build a world, run it, collect results; write
 * hypervisor backends against the MPT interface and check them with the conformance kit.
 *
 * ```ts
 * import { collectResults, loadScenario, World } from "./mod.ts";
 * const { scenario } = loadScenario("scenarios/weights.gvt");
 * const world = await World.create(scenario!);
 * if (world instanceof World) {
 *   world.run();
 *   console.log(collectResults(world).vms.map((v) => [v.name, v.engines.rcs.share]));
 * }
 * ```
 * @module
 */

// Kernel
export {
  DONE,
  type EventSink,
  MS,
  NS,
  Process,
  type ProcessBody,
  Resumable,
  SEC,
  Sim,
  US,
  WAIT,
} from "./core/sim/sim.ts";
export type { QueuedEvent } from "./core/sim/queue.ts";
export { Rng, Streams } from "./core/sim/rng.ts";

// Scenario data and the DSL
export type * from "./core/scenario.ts";
export { ENGINE_NAMES } from "./core/scenario.ts";
export {
  type Diagnostic,
  formatDiagnostics,
  type FormatOptions,
  type LoadOptions,
  type LoadResult,
  loadScenario,
  type ParamInfo,
  type ParamKind,
  parseScenarioText,
  type Span,
} from "./dsl/mod.ts";
export {
  availableInstances,
  BUILTIN_TYPES,
  findType,
  type FreeResources,
  GSCALE_FENCE_POOL,
  GSCALE_MAX_VGPU,
  GVT_MAX_VGPU,
  initialFree,
} from "./core/vgpu_types.ts";
export { GSCALE_ENTRY_NS, type GscaleOptions, type GscaleStats } from "./core/gvt/gscale.ts";

// World and results
export {
  HostRuntime,
  VmRuntime,
  type VmState,
  World,
  WorldError,
  type WorldOptions,
} from "./core/world.ts";
export { Migration, type MigrationRound } from "./core/migration.ts";
export type { VmHost } from "./core/gvt/vgpu.ts";
export { Iommu, type IommuMapResult } from "./core/hw/iommu.ts";
export { collectResults, type NativeBaseline } from "./core/metrics/collect.ts";
export {
  type EngineUse,
  type ExpectationResult,
  type HostResult,
  type LatencySummary,
  type MigrationResult,
  type MigrationRoundResult,
  type Results,
  RESULTS_SCHEMA,
  type Series,
  type SwitchRecord,
  type VmResult,
} from "./core/metrics/results.ts";
export {
  callValue,
  evalExpr,
  evaluateExpectations,
  type WindowedValues,
} from "./core/metrics/expect.ts";
export { WorldWindows } from "./core/metrics/windows.ts";
export {
  DRIVER_THREAD,
  GPU_PID,
  type TraceClock,
  type TraceCounter,
  type TraceInstant,
  TraceLog,
  type TraceRecord,
  type TraceSink,
  type TraceSlice,
} from "./core/metrics/trace.ts";

// Experiments: parameter sweeps into a results database
export { sweep, SweepError, type SweepOptions, type SweepSummary } from "./sweep/sweep.ts";
export type { Shard } from "./sweep/grid.ts";

// The MPT interface for hypervisor backends (plugins)
export * from "./core/mpt/types.ts";
export {
  isLoadError,
  loadBackend,
  type LoadedBackend,
  LoadError,
  type PluginLoadOptions,
  type PluginSource,
  resolvePlugin,
  validateBackend,
} from "./core/mpt/loader.ts";
export {
  type InjectedFault,
  MPT_OP_NAMES,
  MptGate,
  type MptOpName,
  type NativeOps,
  type PluginError,
} from "./core/mpt/gate.ts";
export { openBackend, type OpenedBackend } from "./core/mpt/open.ts";
export { type BackendTimerError, type MsiReceiver, SimBackendContext } from "./core/mpt/context.ts";
export type { ChargeSource, GateOptions } from "./core/mpt/gate.ts";
export {
  type CheckResult,
  type ConformanceOptions,
  type ConformanceReport,
  type Coverage,
  formatConformance,
  runConformance,
} from "./core/mpt/conformance.ts";
