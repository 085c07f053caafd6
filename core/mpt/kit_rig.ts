/**
 * The conformance kit's test bench: a stand-in for the GVT-g core ({@link KitCore}: a
 * byte-addressed BAR0 register file and a PCI config space per vGPU, whose MSI capability
 * sits at 0xac, and a log of every call the backend makes into it) and fresh rigs (simulation,
 * host memory, one or two VMs' guest memory, backend context, a freshly loaded backend, the
 * real {@link MptGate}).
 *
 * Each VM's RAM has an MMIO hole and three 2 MiB ranges whose host frames are laid out on
 * purpose: contiguous and 2 MiB aligned, contiguous but one frame off alignment, and
 * scattered. A backend's 2 MiB DMA mapping is right only if the device sees exactly the
 * guest's frames, in order, at an aligned device address. The device sees through an IOMMU
 * ({@link Iommu}, one domain per vGPU): passthrough unless the backend attaches the domain
 * and hands out IOVAs.
 * @module
 */

import { Sim } from "../sim/sim.ts";
import { HostMemory } from "../hw/memory.ts";
import { Iommu } from "../hw/iommu.ts";
import { GuestMemory } from "../guest/memory.ts";
import { SimBackendContext } from "./context.ts";
import { isLoadError, loadBackend } from "./loader.ts";
import { MptGate } from "./gate.ts";
import type { GvtOps, Handle, MptBackend, PlaneInfo, VgpuInfo } from "./types.ts";
import { MPT_EINVAL, MPT_ENODEV, MPT_OK, PLANE_PRIMARY } from "./types.ts";

/** Guest-physical layout of the kit's test VMs. */
export const CONFORMANCE_LAYOUT = {
  /** BAR0 base (16 MiB of MMIO registers + GTT). */
  bar0: 0xf000_0000,
  /** BAR0 size. */
  bar0Size: 16 * 1024 * 1024,
  /** BAR2 base (aperture). */
  bar2: 0xe000_0000,
  /** Config-space (ECAM) window (4 KiB). */
  cfg: 0xd000_0000,
  /** Guest RAM (bytes). */
  ram: 16 * 1024 * 1024,
  /** An unbacked range of guest frames [start, end) (an MMIO hole). */
  hole: [2048, 2304] as const,
  /** First gfn of a 2 MiB range on contiguous, 2 MiB aligned host frames. */
  hugeAligned: 512,
  /** First gfn of a 2 MiB range on contiguous host frames one frame off 2 MiB alignment. */
  hugeUnaligned: 2560,
  /** First gfn of a 2 MiB range on scattered host frames. */
  hugeScattered: 1024,
} as const;

/** Offset of the MSI capability in the kit's config space. */
export const KIT_MSI_CAP = 0xac;
/** Offset of the Advanced Features (FLR) capability in the kit's config space. */
export const KIT_AF_CAP = 0xd0;
/** Offset of the GTT in BAR0. */
export const KIT_GTT_OFFSET = 8 * 1024 * 1024;

/** A call the backend made into the stand-in core. */
export interface SeenAccess {
  /** vGPU id the backend named. */
  id: number;
  /** BAR0 / config offset, or the gpa for write-protect calls. */
  off: number;
  /** Bytes. */
  size: number;
  /** Value written (0 for reads). */
  value: number;
}

const OTHER_OWNER = 99;

/** The plane the stand-in core shows every vGPU: a 64x64 framebuffer at graphics address 0. */
const STAND_IN_PLANE: PlaneInfo = {
  dmabufId: 1,
  start: 0,
  width: 64,
  height: 64,
  stride: 256,
  size: 16384,
  drmFormat: 0x34325258,
};

/** The stand-in GVT-g core the kit hands the backend in `hostInit`. */
export class KitCore implements GvtOps {
  /** emulateMmioRead calls. */
  readonly reads: SeenAccess[] = [];
  /** emulateMmioWrite calls. */
  readonly writes: SeenAccess[] = [];
  /** emulateCfgRead calls. */
  readonly cfgReads: SeenAccess[] = [];
  /** emulateCfgWrite calls. */
  readonly cfgWrites: SeenAccess[] = [];
  /** writeProtectHandler calls. */
  readonly wp: SeenAccess[] = [];
  /** Life-cycle and display callbacks the backend drove: [callback, vGPU id]. */
  readonly lifecycle: [string, number][] = [];
  /** dma-buf exports handed out. */
  exports = 0;
  private readonly regs = new Map<number, number>();
  private readonly cfgs = new Map<number, Uint8Array>();

  /** A vGPU's config space (a fresh device the first time). */
  cfg(id: number): Uint8Array {
    let c = this.cfgs.get(id);
    if (c === undefined) {
      c = new Uint8Array(256);
      c[0x34] = 0x40; // capability list: PM at 0x40 -> MSI at 0xac -> AF (FLR) at 0xd0
      c[0x40] = 0x01;
      c[0x41] = KIT_MSI_CAP;
      c[KIT_MSI_CAP] = 0x05;
      c[KIT_MSI_CAP + 1] = KIT_AF_CAP;
      c[KIT_AF_CAP] = 0x13;
      c[KIT_AF_CAP + 2] = 6;
      c[KIT_AF_CAP + 3] = 0x03;
      this.cfgs.set(id, c);
    }
    return c;
  }

  /** Forgets a vGPU's registers and config space (a new device after re-attach). */
  resetDevice(id: number): void {
    this.cfgs.delete(id);
    for (const k of [...this.regs.keys()]) if (Math.floor(k / 2 ** 25) === id) this.regs.delete(k);
  }

  /** A register byte of a vGPU's BAR0. */
  reg(id: number, off: number): number {
    return this.regs.get(id * 2 ** 25 + off) ?? 0;
  }

  /** Sets register bytes directly (the kit preparing a value to read). */
  setReg(id: number, off: number, size: number, value: number): void {
    let x = value;
    for (let i = 0; i < size; i++) {
      this.regs.set(id * 2 ** 25 + off + i, x % 256);
      x = Math.floor(x / 256);
    }
  }

  emulateMmioRead(id: number, off: number, size: number): number {
    this.reads.push({ id, off, size, value: 0 });
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.reg(id, off + i);
    return v;
  }

  emulateMmioWrite(id: number, off: number, size: number, value: number): void {
    this.writes.push({ id, off, size, value });
    this.setReg(id, off, size, value);
  }

  emulateCfgRead(id: number, off: number, size: number): number {
    this.cfgReads.push({ id, off, size, value: 0 });
    const c = this.cfg(id);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (c[off + i] ?? 0);
    return v;
  }

  emulateCfgWrite(id: number, off: number, size: number, value: number): void {
    this.cfgWrites.push({ id, off, size, value });
    const c = this.cfg(id);
    let x = value;
    for (let i = 0; i < size && off + i < c.length; i++) {
      const at = off + i; // capability ids and next pointers are read-only, FLR self-clears
      const ro = at === 0x34 || (at >= KIT_MSI_CAP && at < KIT_MSI_CAP + 2) ||
        (at >= KIT_AF_CAP && at < KIT_AF_CAP + 6);
      if (!ro) c[at] = x & 0xff;
      x = Math.floor(x / 256);
    }
  }

  writeProtectHandler(id: number, gpa: number, size: number, value: number): void {
    this.wp.push({ id, off: gpa, size, value });
  }

  vgpuReset(id: number): void {
    this.lifecycle.push(["vgpuReset", id]);
    this.resetDevice(id); // a device-model-level reset: registers and config space
  }

  vgpuActivate(id: number): void {
    this.lifecycle.push(["vgpuActivate", id]);
  }

  vgpuDeactivate(id: number): void {
    this.lifecycle.push(["vgpuDeactivate", id]);
  }

  // The stand-in has no VMs (creating one fails cleanly) and shows one fixed primary plane.
  vgpuCreate(vm: string, type: string): number {
    this.lifecycle.push([`vgpuCreate ${vm} ${type}`, 0]);
    return MPT_ENODEV; // no VMs to create for
  }
  vgpuDestroy(id: number): number {
    this.lifecycle.push(["vgpuDestroy", id]);
    return MPT_OK;
  }
  vgpuQueryPlane(id: number, plane: number): PlaneInfo | number {
    this.lifecycle.push(["vgpuQueryPlane", id]);
    return plane === PLANE_PRIMARY ? STAND_IN_PLANE : 0;
  }
  vgpuGetDmabuf(id: number, dmabufId: number): number {
    this.lifecycle.push(["vgpuGetDmabuf", id]);
    return dmabufId === STAND_IN_PLANE.dmabufId ? ++this.exports : MPT_EINVAL;
  }
  vgpuPutDmabuf(id: number, _handle: number): void {
    this.lifecycle.push(["vgpuPutDmabuf", id]);
  }

  /** Forgets every recorded call. */
  clearLog(): void {
    for (const l of [this.reads, this.writes, this.cfgReads, this.cfgWrites, this.wp]) l.length = 0;
  }
}

/** One wired test rig. */
export interface KitRig {
  /** The simulation. */
  sim: Sim;
  /** Host memory. */
  host: HostMemory;
  /** The IOMMU the backend programs (domain = vGPU id; passthrough unless it attaches one). */
  iommu: Iommu;
  /** Guest memory by vGPU id (1 and, with two VMs, 2). */
  mems: GuestMemory[];
  /** The backend's context. */
  ctx: SimBackendContext;
  /** The real gate around the backend. */
  gate: MptGate;
  /** The stand-in core. */
  core: KitCore;
  /** The backend as loaded (calls through it bypass the gate). */
  backend: MptBackend;
  /** Handles returned by attachVgpu, in order. */
  handles: Handle[];
  /** MSIs that reached a guest. */
  msis: { id: number; addr: number; data: number; at: number }[];
  /** Delays backends asked for in `ctx.deliverMsi`. */
  msiDelays: number[];
  /** Loader label. */
  label: string;
}

/** The VgpuInfo of kit vGPU `id`. */
export function kitVgpu(id: number): VgpuInfo {
  const L = CONFORMANCE_LAYOUT;
  return { id, vm: `conf${id}`, memory: L.ram, vcpus: 2, bar0: L.bar0, bar2: L.bar2, cfg: L.cfg };
}

/** Loading failed while building a rig. */
export class LoadFailed extends Error {}

/** Options of {@link makeRig}. */
export interface RigOptions {
  /** Attach vGPU 1 (and 2 with `vms: 2`) right away (default true). */
  attach?: boolean;
  /** VMs (1 or 2). */
  vms?: number;
}

/**
 * Builds a fresh rig on plugin `spec`: loads it through the real loader with a new context,
 * wraps it in a new gate and calls hostInit. Throws {@link LoadFailed} if it cannot be loaded.
 */
export async function makeRig(
  spec: string | URL,
  params: Readonly<Record<string, number | string | boolean>>,
  base: string | URL | undefined,
  opts: RigOptions = {},
): Promise<KitRig> {
  const sim = new Sim(1);
  const host = new HostMemory(96 * 1024 * 1024);
  const ctx = new SimBackendContext(sim, params);
  const iommu = new Iommu(host.frames, host.scratchMfn);
  ctx.setIommu(iommu);
  const L = CONFORMANCE_LAYOUT;
  const vms = opts.vms ?? 1;
  const mems: GuestMemory[] = [];
  const msis: KitRig["msis"] = [];
  const msiDelays: number[] = [];
  for (let id = 1; id <= vms; id++) {
    const mem = new GuestMemory(host, id, L.ram, { holes: [[L.hole[0], L.hole[1]]] });
    layHugeRanges(host, mem);
    mems[id] = mem;
    ctx.setGuestMemory(id, mem);
    ctx.setMsiReceiver(id, { onMsi: (addr, data) => msis.push({ id, addr, data, at: sim.now }) });
  }
  const deliver = ctx.deliverMsi.bind(ctx);
  ctx.deliverMsi = (id, addr, data, delay) => {
    msiDelays.push(delay);
    deliver(id, addr, data, delay);
  };
  const loaded = await loadBackend(spec, ctx, base);
  if (isLoadError(loaded)) throw new LoadFailed(loaded.message);
  ctx.label = loaded.label;
  const handles: Handle[] = [];
  const gate = new MptGate(sim, spyBackend(loaded.backend, handles), loaded.label, [], {
    charged: ctx,
  });
  const core = new KitCore();
  gate.hostInit(core);
  const r: KitRig = {
    sim,
    host,
    iommu,
    mems,
    ctx,
    gate,
    core,
    backend: loaded.backend,
    handles,
    msis,
    msiDelays,
    label: loaded.label,
  };
  if (opts.attach !== false) { for (let id = 1; id <= vms; id++) gate.attachVgpu(kitVgpu(id)); }
  return r;
}

/**
 * Backs the three 2 MiB ranges of `mem` as documented on {@link CONFORMANCE_LAYOUT}, using
 * filler frames of another owner to steer the host allocator (lowest free frame first).
 */
function layHugeRanges(host: HostMemory, mem: GuestMemory): void {
  const L = CONFORMANCE_LAYOUT;
  const fillTo = (rem: number) => {
    for (let g = 0; g < 1024; g++) {
      const probe = host.allocFrame(OTHER_OWNER);
      if (probe < 0) return;
      if ((probe + 1) % 512 === rem) return;
    }
  };
  fillTo(0);
  for (let k = 0; k < 512; k++) mem.mfnOf(L.hugeAligned + k);
  fillTo(1);
  for (let k = 0; k < 512; k++) mem.mfnOf(L.hugeUnaligned + k);
  for (let k = 0; k < 512; k++) {
    host.allocFrame(OTHER_OWNER); // a foreign frame between every two of the VM's
    mem.mfnOf(L.hugeScattered + k);
  }
}

/** Wraps a backend so the kit sees the handles `attachVgpu` returns (no other change). */
function spyBackend(b: MptBackend, handles: Handle[]): MptBackend {
  return new Proxy(b, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (typeof v !== "function") return v;
      if (key === "attachVgpu") {
        return (info: VgpuInfo) => {
          const h = v.call(target, info);
          handles.push(h);
          return h;
        };
      }
      return v.bind(target);
    },
  });
}
