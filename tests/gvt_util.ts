/**
 * Test rig for the mediator: the physical GPU, a backend loaded through the loader (kvm by
 * default), its gate, the mediator, and guest memories; optionally the guest driver model.
 */
import { Sim, US } from "../core/sim/sim.ts";
import { Gpu } from "../core/hw/gpu.ts";
import { GuestMemory } from "../core/guest/memory.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import { isLoadError, loadBackend } from "../core/mpt/loader.ts";
import { MptGate } from "../core/mpt/gate.ts";
import { GuestDriver } from "../core/guest/driver.ts";
import { defaultHostSpec, type HostSpec, type SchedulerSpec } from "../core/scenario.ts";
import { builtinTypes } from "../core/vgpu_types.ts";
import { DEFAULT_PLATFORM, platformOf } from "../core/hw/platform.ts";
import { type CreateVgpuParams, Gvt, type GvtConfig, isCreateError } from "../core/gvt/vgpu.ts";
import type { Vgpu } from "../core/gvt/vgpu_state.ts";
import type { MixCounts } from "../core/cmd/batch.ts";

/** MiB. */
export const MiB = 1024 * 1024;

/** A host spec with the scenario defaults (`defaultHostSpec`), some fields overridden. */
export function hostSpec(over: Partial<HostSpec> = {}): HostSpec {
  return { ...defaultHostSpec(), ...over };
}

/** A wired mediator. */
export interface GvtRig {
  sim: Sim;
  gpu: Gpu;
  ctx: SimBackendContext;
  gate: MptGate;
  gvt: Gvt;
  mems: Map<number, GuestMemory>;
}

/** Builds the rig (no vGPUs yet). */
export async function gvtRig(
  opts: {
    host?: Partial<HostSpec>;
    scheduler?: SchedulerSpec;
    config?: Partial<GvtConfig>;
    backend?: string;
    hostMemory?: number;
  } = {},
): Promise<GvtRig> {
  const sim = new Sim(11);
  const host = hostSpec(opts.host);
  const platform = platformOf(host.gpu) ?? DEFAULT_PLATFORM;
  const gpu = new Gpu(sim, {
    aperture: host.aperture,
    ggtt: host.ggtt,
    fences: host.fences,
    hostMemoryBytes: opts.hostMemory ?? 2048 * MiB,
    platform,
  });
  const ctx = new SimBackendContext(sim);
  const loaded = await loadBackend(opts.backend ?? "kvm", ctx);
  if (isLoadError(loaded)) throw new Error(loaded.message);
  ctx.label = loaded.label;
  const gate = new MptGate(sim, loaded.backend, loaded.label, [], { charged: ctx });
  const gvt = new Gvt(sim, gpu, gate, {
    host,
    types: builtinTypes(platform.typePrefix),
    scheduler: opts.scheduler ?? { policy: "gvt", params: {} },
    ...opts.config,
  });
  return { sim, gpu, ctx, gate, gvt, mems: new Map() };
}

/** Creates a vGPU and its guest memory (owner = vGPU id). */
export function addVgpu(r: GvtRig, p: Partial<CreateVgpuParams> & { vm: string }): Vgpu {
  const memory = p.memory ?? 128 * MiB;
  const id = r.gvt.nextVgpuId();
  const mem = new GuestMemory(r.gpu.memory, id, memory);
  r.ctx.setGuestMemory(id, mem);
  const type = `${r.gpu.config.platform.typePrefix}_4`;
  const v = r.gvt.createVgpu({ type, vcpus: 2, memory, owner: id, ...p });
  if (isCreateError(v)) throw new Error(v.message);
  r.mems.set(v.id, mem);
  return v;
}

/** The config-space window base the rig uses. */
export const CFG_GPA = 0xd000_0000;

/** Creates a vGPU with a booted guest driver. */
export function addGuest(
  r: GvtRig,
  p: Partial<CreateVgpuParams> & { vm: string },
  opts: { ppgttBatches?: boolean; engines?: number[] } = {},
): { v: Vgpu; drv: GuestDriver; mem: GuestMemory } {
  const v = addVgpu(r, p);
  const mem = r.mems.get(v.id)!;
  const drv = new GuestDriver({
    sim: r.sim,
    port: r.gate,
    info: {
      id: v.id,
      vm: v.vm,
      memory: v.memory,
      vcpus: 2,
      bar0: v.bar0,
      bar2: v.bar2,
      cfg: CFG_GPA,
    },
    mem,
    rng: r.sim.streams.stream(`guest:${v.vm}`),
    ppgttBatches: opts.ppgttBatches,
    engines: opts.engines,
  });
  r.ctx.setMsiReceiver(v.id, drv);
  return { v, drv, mem };
}

/** A command mix. */
export function mix(m: Partial<MixCounts>): MixCounts {
  return { draw: 0, blit: 0, media: 0, compute: 0, store: 0, lri: 0, ...m };
}

/** Keeps a guest's render engine busy: two batches in flight at all times. */
export function alwaysBusy(sim: Sim, drv: GuestDriver, draws = 25): void {
  sim.spawn((function* (): Generator<number, void, void> {
    yield drv.boot();
    for (;;) {
      while (drv.inFlight(0) < 2) yield drv.submitBatch(0, mix({ draw: draws }));
      yield 50 * US;
    }
  })());
}

/** Render busy time of each vGPU in each window [t0 + k w, t0 + (k+1) w). */
export function windows(sim: Sim, vs: Vgpu[], t0: number, w: number, n: number): number[][] {
  const out: number[][] = [];
  const at = (k: number) => {
    sim.runUntil(t0 + k * w);
    return vs.map((v) => v.counters.busyNs[0]);
  };
  let prev = at(0);
  for (let k = 1; k <= n; k++) {
    const cur = at(k);
    out.push(cur.map((c, i) => c - prev[i]));
    prev = cur;
  }
  return out;
}
