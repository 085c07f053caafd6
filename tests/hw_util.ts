/** Test helpers for building contexts, rings and page tables by hand on the GPU model. */

import { ENGINES } from "../core/hw/engines.ts";
import { Sim } from "../core/sim/sim.ts";
import { Gpu, type GpuConfig } from "../core/hw/gpu.ts";
import { OWNER_HOST } from "../core/hw/memory.ts";
import {
  GEN8_CTX_VALID,
  GFX_RUN_LIST_ENABLE,
  GTT_OFFSET,
  RING_ELSP,
  RING_MODE,
} from "../core/hw/regs.ts";
import {
  CTX_RING_TAIL,
  ctxValueOffset,
  LRC_STATE_PN,
  setContextRoot,
  writeContextRing,
} from "../core/hw/context.ts";

const MiB = 1024 * 1024;

/** A small GPU for unit tests. */
export function smallGpu(config: Partial<GpuConfig> = {}, seed = 1): { sim: Sim; gpu: Gpu } {
  const sim = new Sim(seed);
  const gpu = new Gpu(sim, {
    aperture: 16 * MiB,
    ggtt: 64 * MiB,
    hostMemoryBytes: 64 * MiB,
    ...config,
  });
  return { sim, gpu };
}

/** Maps `pages` fresh frames of `owner` at `gma` through the GTT window; returns the mfns. */
export function mapGgtt(gpu: Gpu, gma: number, pages: number, owner = OWNER_HOST): number[] {
  const mfns: number[] = [];
  for (let i = 0; i < pages; i++) {
    const mfn = gpu.memory.allocFrame(owner);
    mfns.push(mfn);
    gpu.mmioWrite(GTT_OFFSET + (gma / 4096 + i) * 8, 8, mfn * 4096 + 3);
  }
  return mfns;
}

/** Writes dwords at a GGTT address (CPU view). */
export function writeGgtt(gpu: Gpu, gma: number, dwords: ArrayLike<number>): void {
  for (let i = 0; i < dwords.length; i++) {
    gpu.memory.write32(gpu.ggttTranslate(gma + 4 * i), dwords[i]);
  }
}

/** Reads a dword at a GGTT address. */
export function readGgtt(gpu: Gpu, gma: number): number {
  return gpu.memory.read32(gpu.ggttTranslate(gma));
}

/** A hand-built context: image at `lrca` (2 pages), ring at `ring` (`ringPages`). */
export interface TestCtx {
  lrca: number;
  ring: number;
  ringSize: number;
  tail: number;
  descLo: number;
}

/**
 * Creates a context image with a ring; `mode` 1 = legacy 32-bit (3-level, `roots` = 4
 * PDP addresses), 3 = 4-level (`roots[0]` = PML4).
 */
export function makeContext(
  gpu: Gpu,
  lrca: number,
  ring: number,
  ringPages = 1,
  mode = 3,
  roots: number[] = [0, 0, 0, 0],
  owner = OWNER_HOST,
): TestCtx {
  mapGgtt(gpu, lrca, 2, owner);
  mapGgtt(gpu, ring, ringPages, owner);
  const state = new Uint32Array(1024);
  writeContextRing(state, ring, ringPages * 4096, 0, 0);
  for (let i = 0; i < 4; i++) setContextRoot(state, i, roots[i]);
  writeGgtt(gpu, lrca + LRC_STATE_PN * 4096, state);
  return {
    lrca,
    ring,
    ringSize: ringPages * 4096,
    tail: 0,
    descLo: lrca | (mode << 3) | GEN8_CTX_VALID,
  };
}

/** Appends dwords to the context's ring and updates the tail in its image. */
export function appendRing(gpu: Gpu, ctx: TestCtx, dwords: ArrayLike<number>): void {
  for (let i = 0; i < dwords.length; i++) {
    writeGgtt(gpu, ctx.ring + ctx.tail, [dwords[i]]);
    ctx.tail = (ctx.tail + 4) % ctx.ringSize;
  }
  writeGgtt(gpu, ctx.lrca + 4096 + ctxValueOffset(CTX_RING_TAIL), [ctx.tail]);
}

/** Enables execlists on `engine` and submits one or two contexts through ELSP. */
export function submit(
  gpu: Gpu,
  engine: number,
  el0: [number, number],
  el1?: [number, number],
): void {
  const b = ENGINES[engine].mmioBase;
  gpu.mmioWrite(b + RING_MODE, 4, (GFX_RUN_LIST_ENABLE << 16) | GFX_RUN_LIST_ENABLE);
  gpu.mmioWrite(b + RING_ELSP, 4, el1 ? el1[1] : 0);
  gpu.mmioWrite(b + RING_ELSP, 4, el1 ? el1[0] : 0);
  gpu.mmioWrite(b + RING_ELSP, 4, el0[1]);
  gpu.mmioWrite(b + RING_ELSP, 4, el0[0]);
}

/** Builds 3-level page tables (4 PDP pages) mapping `va` -> `mfn`; returns the PDP roots. */
export class TestPpgtt {
  /** Physical addresses of the 4 page directories (3-level) or PML4 (4-level). */
  readonly roots: number[];
  constructor(
    private readonly gpu: Gpu,
    readonly levels: 3 | 4,
    private readonly owner = OWNER_HOST,
  ) {
    this.roots = levels === 3 ? [0, 1, 2, 3].map(() => this.table()) : [this.table(), 0, 0, 0];
  }
  private table(): number {
    return this.gpu.memory.allocFrame(this.owner) * 4096;
  }
  private next(t: number, i: number): number {
    const m = this.gpu.memory;
    const lo = m.read32(t + 8 * i);
    if (lo & 1) return (lo & 0xfffff000) >>> 0;
    const n = this.table();
    m.write32(t + 8 * i, n | 3);
    return n;
  }
  /** Maps one page. */
  map(va: number, mfn: number): void {
    let pd: number;
    if (this.levels === 4) {
      const pdp = this.next(this.roots[0], Math.floor(va / 2 ** 39) & 0x1ff);
      pd = this.next(pdp, Math.floor(va / 2 ** 30) & 0x1ff);
    } else pd = this.roots[(va >>> 30) & 3];
    const pt = this.next(pd, Math.floor(va / 2 ** 21) & 0x1ff);
    this.gpu.memory.write32(pt + 8 * (Math.floor(va / 4096) & 0x1ff), mfn * 4096 + 3);
  }
}
