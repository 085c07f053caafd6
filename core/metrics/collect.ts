/** Collects a {@link World}'s counters into {@link Results} (pure data, deterministic). */

import { ENGINE_NAMES, type EngineName } from "../scenario.ts";
import type { World } from "../world.ts";
import { globalCounterRecord, TC, TRAP_CLASSES, vgpuCounterRecord } from "../gvt/counters.ts";
import { guestMetricsRecord } from "../guest/metrics.ts";
import {
  type EngineUse,
  type HostResult,
  type MigrationResult,
  type Results,
  RESULTS_SCHEMA,
  type VmResult,
} from "./results.ts";
import type { MptGate } from "../mpt/gate.ts";
import { busyAt, resolveWindow, VmWindow, WorldWindows } from "./windows.ts";
import { evaluateExpectations } from "./expect.ts";
import { MPT_OP_NAMES } from "../mpt/gate.ts";

/** Throughput of each VM's workload run natively, alone (batches/s), by VM name. */
export type NativeBaseline = Record<string, number>;

function sorted<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The window the run's figures cover: `report { window }`, else from `warmup` on; null for
 * the whole run (also when the window would begin at or after the present, e.g. a REPL
 * before the warm-up ends).
 */
export function figuresWindow(w: World): { from: number; to: number } | null {
  const s = w.scenario;
  const win = s.report.window ?? (s.warmup ? { from: s.warmup } : undefined);
  if (!win || win.from >= Math.min(win.to ?? w.sim.now, w.sim.now)) return null;
  return resolveWindow(win, w.sim.now);
}

/** Builds the results of a run at the world's current time. */
export function collectResults(w: World, native: NativeBaseline = {}): Results {
  const now = w.sim.now;
  const window = figuresWindow(w);
  const vms: VmResult[] = w.vms.map((vm) => {
    const v = vm.vgpu;
    // every vGPU the VM had (a stop and a new start gives it a new one)
    const all = v ? [...vm.earlierCounters, v.counters] : vm.earlierCounters;
    const vw = window ? new VmWindow(w, vm, window) : null;
    const engines = {} as Record<EngineName, EngineUse>;
    ENGINE_NAMES.forEach((n, e) => {
      if (vw) {
        const busyNs = vw.busy(e);
        engines[n] = { busyNs, share: busyNs / (vw.to - vw.from) };
        return;
      }
      const busyNs = busyAt(vm, e, now); // a workload still running counts up to now
      engines[n] = { busyNs, share: now > 0 ? busyNs / now : 0 };
    });
    const m = vm.driver?.metrics;
    const active = vw ? vw.active() : vm.activeUntil(now);
    const completed = m ? m.completed.reduce((a, b) => a + b, 0) : 0;
    const inWindow = vw ? vw.latency() : null;
    const done = inWindow ? inWindow.count : completed;
    const frames = vw ? vw.frames() : m?.frames ?? 0;
    const traps: Record<string, number> = { mmio: 0, gtt: 0, pagetrack: 0, cfg: 0, total: 0 };
    for (const c of all) {
      TRAP_CLASSES.forEach((name, i) => {
        if (i === TC.gtt) traps.gtt += c.traps[i];
        else if (i === TC.cfg) traps.cfg += c.traps[i];
        else if (name !== "guest_mem") traps.mmio += c.traps[i];
      });
      traps.pagetrack += c.wpTraps;
    }
    traps.total = traps.mmio + traps.gtt + traps.pagetrack + traps.cfg;
    const lat = m?.latencyAll;
    const throughput = active > 0 ? done / (active / 1e9) : 0;
    const base = Object.hasOwn(native, vm.spec.name) ? native[vm.spec.name] : undefined;
    const state = w.stateOf(vm);
    const reason = vm.state === "rejected"
      ? vm.reason
      : state === "failed"
      ? `guest driver: ${vm.driver?.bootError}`
      : v?.failsafe
      ? `${v.failsafeReason}: ${
        vm.host.gvt.failsafeLog.find((f) => f.vm === vm.spec.name)?.detail ?? ""
      }`
      : undefined;
    const r: VmResult = {
      name: vm.spec.name,
      type: vm.spec.type,
      hypervisor: vm.host.gate.backend.name,
      state,
      weight: v?.sched.weight ?? vm.spec.weight ?? 0,
      vgpuId: v?.id ?? 0,
      engines,
      frames,
      fps: active > 0 ? frames / (active / 1e9) : 0,
      submitted: m ? m.submitted.reduce((a, b) => a + b, 0) : 0,
      completed,
      throughput,
      latency: inWindow ?? {
        count: lat?.count ?? 0,
        mean: lat ? Math.round(lat.mean) : 0,
        p50: lat?.percentile(50) ?? 0,
        p90: lat?.percentile(90) ?? 0,
        p99: lat?.percentile(99) ?? 0,
        max: lat?.max ?? 0,
      },
      traps,
      counters: sorted({
        ...addUp(all.map(vgpuCounterRecord)),
        ...(v ? backendCounters(vm.host.gate, v.id) : {}),
        ...(v ? vm.host.gvt.gscaleRecord(v) : {}),
        ...(m
          ? Object.fromEntries(
            Object.entries(guestMetricsRecord(m)).map(([k, x]) => [`guest.${k}`, x]),
          )
          : {}),
      }),
    };
    if (reason !== undefined) r.stateReason = reason;
    if (base !== undefined) r.nativePct = base > 0 ? (throughput / base) * 100 : 0;
    if (w.scenario.hosts) r.host = vm.host.name;
    return r;
  });

  const g = globalCounterRecord(w.gvt.globalCounters);
  const gpuC = w.gpu.counters();
  const gpuEngines: Results["gpu"]["engines"] = {};
  ENGINE_NAMES.forEach((n, e) => {
    gpuEngines[n] = { busyNs: gpuC.busyNs[e], utilization: now > 0 ? gpuC.busyNs[e] / now : 0 };
  });
  const ops = w.gate.nativeOps();
  const results: Results = {
    schema: RESULTS_SCHEMA,
    scenario: w.scenario.name,
    file: w.scenario.file,
    seed: w.sim.streams.seed,
    simulatedNs: now,
    ...(window ? { window } : {}),
    hypervisor: {
      name: w.gate.backend.name,
      nativeOps: [...ops.native].sort(),
      fallbackOps: [...ops.fallback].sort(),
      counters: sorted(Object.fromEntries(w.ctx.counters)),
      errors: w.gate.errors.map((e) => ({
        plugin: e.plugin,
        op: e.op,
        vm: w.gvt.vgpuById(e.vgpuId)?.vm ?? (e.vgpuId >= 0 ? `vgpu${e.vgpuId}` : "-"),
        message: e.message,
      })),
      faultsInjected: w.gate.faultCount,
      faults: w.gate.faultsInjected.map((f) => ({
        op: f.op,
        vm: f.vgpuId > 0 ? w.vmNameOfVgpu(f.vgpuId, f.at) : "-",
        action: f.action,
        t: f.at,
        rule: `${f.loc.file}:${f.loc.line}`,
      })),
    },
    scheduler: {
      policy: w.gvt.sched.policy.name,
      switches: g["sched.switches"],
      drainWaitNs: g["sched.drain_wait_ns"],
      counters: sorted(
        Object.fromEntries(Object.entries(g).filter(([k]) => k.startsWith("sched."))),
      ),
    },
    gpu: {
      platform: w.gpu.config.platform.id,
      engines: gpuEngines,
      counters: sorted({
        msis: gpuC.msis,
        commands: sumCommands(gpuC.commands),
        vblanks: sum(gpuC.vblanks),
        flips: sum(gpuC.flips),
        command_faults: gpuC.commandFaults,
        dwords: sum(gpuC.dwords),
        mmio_reads: gpuC.mmioReads,
        mmio_writes: gpuC.mmioWrites,
        ggtt_writes: gpuC.ggttWrites,
        blit_bytes: gpuC.blitBytes,
        engine_resets: gpuC.engineResets,
      }),
    },
    vms,
    counters: sorted({ ...g, ...gscaleCounters(w) }),
    isolation: {
      checked: w.hosts.some((h) => h.spec.invariants),
      violations: w.hosts.reduce(
        (n, h) => n + h.gvt.globalCounters.invariantViolations,
        0,
      ),
    },
    expectations: [],
    series: {
      periodNs: w.seriesPeriod,
      t: [...w.series.t],
      share: Object.fromEntries(
        w.vms.map((vm, i) => [vm.spec.name, w.series.share[i].map(round4)]),
      ),
      queue: Object.fromEntries(w.vms.map((vm, i) => [vm.spec.name, [...w.series.queue[i]]])),
    },
    switches: switches(w),
    ...(w.scenario.hosts ? { hosts: hostResults(w), migrations: migrationResults(w) } : {}),
  };
  results.expectations = evaluateExpectations(results, w.scenario.expects, new WorldWindows(w));
  return results;
}

/** Key-wise sum of counter records. */
function addUp(records: Record<string, number>[]): Record<string, number> {
  if (records.length === 1) return records[0];
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, x] of Object.entries(r)) out[k] = (out[k] ?? 0) + x;
  return out;
}

/** Per-vGPU backend work: calls per MPT op, total backend time, and interrupt delivery cost. */
function backendCounters(gate: MptGate, id: number): Record<string, number> {
  const out: Record<string, number> = { "hv.ns": gate.costFor(id) };
  for (const op of MPT_OP_NAMES) {
    const n = gate.opCount(op, id);
    if (n > 0) out[`hv.calls.${op}`] = n;
  }
  out["hv.msi_ns"] = gate.opCount("injectMsi", id) * gate.costOfOp("injectMsi");
  return out;
}

/** Each host of a multi-host world: its GPU's use, its VMs, its isolation checker. */
function hostResults(w: World): HostResult[] {
  const now = w.sim.now;
  return w.hosts.map((h) => {
    const c = h.gpu.counters(), engines: HostResult["engines"] = {};
    ENGINE_NAMES.forEach((n, e) => {
      engines[n] = { busyNs: c.busyNs[e], utilization: now > 0 ? c.busyNs[e] / now : 0 };
    });
    return {
      name: h.name,
      gpu: h.spec.gpu,
      hypervisor: h.gate.backend.name,
      vms: w.vms.filter((vm) => vm.host === h && vm.vgpu !== null && !vm.vgpu.destroyed)
        .map((vm) => vm.spec.name),
      engines,
      violations: h.gvt.globalCounters.invariantViolations,
      switches: h.gvt.globalCounters.switches,
      drainWaitNs: h.gvt.globalCounters.drainWaitNs,
      commands: sumCommands(c.commands),
      msis: c.msis,
    };
  });
}

/** The world's live migrations as results. */
function migrationResults(w: World): MigrationResult[] {
  return w.migrations.map((m) => ({
    vm: m.vm,
    from: m.from,
    to: m.to,
    outcome: m.outcome,
    ...(m.reason ? { reason: m.reason } : {}),
    start: m.start,
    end: m.end,
    downtimeNs: m.downtimeNs,
    stoppedAt: m.stoppedAt,
    quiescedAt: m.quiescedAt,
    rounds: m.rounds.map((r) => ({ ...r })),
    pagesSent: m.pagesSent,
    precopyPages: m.precopyPages,
    stopPages: m.stopPages,
    stopDirtyPages: m.stopDirtyPages,
    gpuPages: m.gpuPages,
    gpuHashed: m.gpuHashed,
    gpuResent: m.gpuResent,
    stateBytes: m.stateBytes,
    queuedWorkloads: m.queuedWorkloads,
    stalePages: m.stalePages,
    hashing: m.options.hashing,
    bandwidth: m.options.bandwidth,
    nativeDirtyLog: m.nativeDirtyLog,
  }));
}

/** Commands executed over all engines (per engine, per command kind). */
function sumCommands(byEngine: readonly Record<string, number>[]): number {
  return byEngine.reduce((a, byKind) => a + sum(Object.values(byKind)), 0);
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** The scheduler's (time, vGPU id) log as (time, VM name). */
function switches(w: World): Results["switches"] {
  const log = w.gvt.sched.switchLog, out: Results["switches"] = [];
  for (let i = 0; i + 1 < log.length; i += 2) {
    out.push({ t: log[i], to: log[i + 1] === 0 ? "idle" : w.vmNameOfVgpu(log[i + 1], log[i]) });
  }
  return out;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** gScale counters summed over the hosts in gScale mode (none: upstream keeps its keys). */
function gscaleCounters(w: World): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of w.hosts) {
    for (const [k, x] of Object.entries(h.gvt.gscaleRecord() ?? {})) out[k] = (out[k] ?? 0) + x;
  }
  return out;
}
