/**
 * Realistic batch buffers and ring requests, shared by the native driver and the guest
 * driver: the state set-up an i915/Mesa-like user-space driver emits, the requested
 * numbers of draws / blits / media / compute / stores / register loads, and
 * MI_BATCH_BUFFER_END. Everything is written as real dwords into a caller's Uint32Array.
 *
 * Which counts apply to which engine: draws and compute walkers only on RCS; blits only on
 * BCS; media on RCS (MEDIA_OBJECT_WALKER), VCS (AVC decode slices) and VECS (VEB_DI_IECP);
 * stores and register loads on every engine. Counts for commands an engine cannot run
 * are ignored ({@link batchLength} gives the exact size first).
 */

import { registerOffset } from "../hw/regdefs.ts";
import { BCS, RCS, VCS, VECS } from "../hw/regs.ts";
import {
  emit3dPrimitive,
  emitArbOnOff,
  emitBatchBufferEnd,
  emitBatchBufferStart,
  emitFlushDw,
  emitGeneric,
  emitGpgpuWalker,
  emitLoadRegisterMem,
  emitLoadRegisterReg,
  emitLri,
  emitMediaObjectWalker,
  emitNoop,
  emitPipeControl,
  emitPipelineSelect,
  emitStoreDataImm,
  emitStoreRegisterMem,
  emitUserInterrupt,
  emitXyColorBlt,
  emitXySrcCopyBlt,
  PIPELINE_SELECT_3D,
  PIPELINE_SELECT_GPGPU,
  PIPELINE_SELECT_MEDIA,
} from "./encode.ts";
import {
  PIPE_CONTROL_DC_FLUSH_ENABLE,
  PIPE_CONTROL_DEPTH_CACHE_FLUSH,
  PIPE_CONTROL_RENDER_TARGET_CACHE_FLUSH,
} from "./fields.ts";
import { cmdId } from "./table.ts";

/** Resolved command counts of one batch, and the registers / raw dwords it names. */
export interface MixCounts {
  /** 3DPRIMITIVE draws. */
  draw: number;
  /** XY_SRC_COPY_BLT blits. */
  blit: number;
  /** XY_COLOR_BLT fills of the render target (blitter). */
  fill?: number;
  /** Media commands. */
  media: number;
  /** GPGPU walkers. */
  compute: number;
  /** MI_STORE_DATA_IMM stores. */
  store: number;
  /** MI_LOAD_REGISTER_IMM register loads. */
  lri: number;
  /** MI_STORE_REGISTER_MEM into the store area. */
  srm?: number;
  /** MI_LOAD_REGISTER_MEM from the store area. */
  lrm?: number;
  /** MI_LOAD_REGISTER_REG. */
  lrr?: number;
  /** Registers the register loads write, cycled (null: {@link defaultLriReg}). */
  lriRegs?: readonly number[] | null;
  /** Registers MI_STORE_REGISTER_MEM reads, cycled (null: GEN8_L3SQCREG4). */
  srmRegs?: readonly number[] | null;
  /** Registers MI_LOAD_REGISTER_MEM writes, cycled (null: GEN8_L3SQCREG4). */
  lrmRegs?: readonly number[] | null;
  /** Source and destination of MI_LOAD_REGISTER_REG (required when `lrr` > 0). */
  lrrRegs?: readonly [number, number] | null;
  /** Raw dwords written as they are before MI_BATCH_BUFFER_END (null: none). */
  dwords?: readonly number[] | null;
}

/** A zeroed {@link MixCounts}. */
export function emptyMix(): MixCounts {
  const m = {} as MixCounts;
  zeroMix(m);
  return m;
}

/** Zeroes `m` in place. */
export function zeroMix(m: MixCounts): void {
  m.draw =
    m.blit =
    m.media =
    m.compute =
    m.store =
    m.lri =
    m.srm =
    m.lrm =
    m.lrr =
    m.fill =
      0;
  m.lriRegs =
    m.srmRegs =
    m.lrmRegs =
    m.lrrRegs =
    m.dwords =
      null;
}

/** Copies `src` into `dst` (register lists and raw dwords are shared, not copied). */
export function copyMix(dst: MixCounts, src: Readonly<MixCounts>): void {
  Object.assign(dst, src);
}

/** Where a `fill` command writes: a 32 bpp surface and this batch's colour. */
export interface FillTarget {
  /** Graphics address. */
  gma: number;
  /** Width in pixels (the pitch is width * 4). */
  width: number;
  /** Height in rows. */
  height: number;
  /** Colour of this batch's fills. */
  color: number;
}

/** Addresses and parameters a batch needs. */
export interface BatchOptions {
  /** Graphics address of store `i` (dword aligned). */
  storeAddr(i: number): number;
  /** Value of store `i`. */
  storeValue(i: number): number;
  /** Addresses (stores, blits) are global-GTT addresses (privileged batch) if true. */
  ggtt: boolean;
  /** Blit source surface address. */
  blitSrc: number;
  /** Blit destination surface address. */
  blitDst: number;
  /** Surface pitch in bytes (both surfaces). */
  blitPitch: number;
  /** Blit width in 32-bit pixels. */
  blitWidth: number;
  /** Blit height in rows. */
  blitHeight: number;
  /**
   * Render target `i` of the batch's fills (fill i clears target i, as a renderer clears each
   * surface of its G-buffer), allocated on first use so a workload without fills has none, with
   * this batch's colour.
   */
  fillTarget?(i: number): FillTarget;
  /** Register written by register load `i` (default: {@link defaultLriReg}). */
  lriReg?(i: number): number;
  /** Value of register load `i` (default: i). */
  lriValue?(i: number): number;
}

/**
 * Registers the default register loads cycle through, per engine: ones every modelled
 * platform lets commands write (core/hw/registers/): the indirect-draw parameters
 * GEN7_3DPRIM_* on the render engine, BCS_SWCTRL on the blitter, RING_SYNC_0/1 of the
 * engine elsewhere. (CS_GPR, which user space also loads, is whitelisted on Broxton only.)
 */
export const DEFAULT_LRI_REGS: readonly (readonly number[])[] = [
  [
    "GEN7_3DPRIM_START_VERTEX",
    "GEN7_3DPRIM_VERTEX_COUNT",
    "GEN7_3DPRIM_INSTANCE_COUNT",
    "GEN7_3DPRIM_START_INSTANCE",
  ],
  ["BCS_SWCTRL"],
  ["VCS_RING_SYNC_0", "VCS_RING_SYNC_1"],
  ["VECS_RING_SYNC_0", "VECS_RING_SYNC_1"],
].map((names) => names.map(registerOffset));

/** The register SRM and LRM use by default: GEN8_L3SQCREG4, which upstream allows them. */
export const DEFAULT_SRM_REG: number = registerOffset("GEN8_L3SQCREG4");

/** The register default register load `i` of an engine writes. */
export function defaultLriReg(engine: number, i: number): number {
  const regs = DEFAULT_LRI_REGS[engine];
  return regs[i % regs.length];
}

const ID3 = {
  SBA: cmdId("STATE_BASE_ADDRESS"),
  VP_CC: cmdId("3DSTATE_VIEWPORT_STATE_POINTERS_CC"),
  CC: cmdId("3DSTATE_CC_STATE_POINTERS"),
  BLEND: cmdId("3DSTATE_BLEND_STATE_POINTERS"),
  VS: cmdId("3DSTATE_VS"),
  PS: cmdId("3DSTATE_PS"),
  VB: cmdId("3DSTATE_VERTEX_BUFFERS"),
  VE: cmdId("3DSTATE_VERTEX_ELEMENTS"),
  TOPO: cmdId("3DSTATE_VF_TOPOLOGY"),
  RECT: cmdId("3DSTATE_DRAWING_RECTANGLE"),
  BT_PS: cmdId("3DSTATE_BINDING_TABLE_POINTERS_PS"),
  VFE: cmdId("MEDIA_VFE_STATE"),
  CURBE: cmdId("MEDIA_CURBE_LOAD"),
  IDL: cmdId("MEDIA_INTERFACE_DESCRIPTOR_LOAD"),
  MSF: cmdId("MEDIA_STATE_FLUSH"),
  MFX_MODE: cmdId("MFX_PIPE_MODE_SELECT"),
  MFX_SURF: cmdId("MFX_SURFACE_STATE"),
  MFX_BUF: cmdId("MFX_PIPE_BUF_ADDR_STATE"),
  MFX_IND: cmdId("MFX_IND_OBJ_BASE_ADDR_STATE"),
  MFX_BSP: cmdId("MFX_BSP_BUF_BASE_ADDR_STATE"),
  AVC_IMG: cmdId("MFX_AVC_IMG_STATE"),
  AVC_SLICE: cmdId("MFX_AVC_SLICE_STATE"),
  AVC_BSD: cmdId("MFD_AVC_BSD_OBJECT"),
  VEB_STATE: cmdId("VEB_STATE"),
  VEB_SURF: cmdId("VEB_SURFACE_STATE"),
  VEB_DI: cmdId("VEB_DI_IECP"),
};

// Fixed sizes (dwords) of the sequences below.
const DRAW_EACH = 2 + 7;
const PC = 6;
const MEDIA_SETUP = 1 + 9 + 4 + 4; // 18
const MEDIA_EACH = 17;
const MSF = 2;
const COMPUTE_SETUP = 1 + 9 + 4; // 14
const COMPUTE_EACH = 15;
const VCS_EACH = 11 + 7;
const VECS_SETUP = 12 + 6 + 6; // 24
const VECS_EACH = 22;
const FLUSH_DW = 4;

/** The draw loop repeats its dwords every this many draws (the vertex count cycles). */
const DRAW_PERIOD = 64;

/** State commands (command id, length in dwords) a driver emits before its draws. */
const DRAW_STATE: readonly (readonly [number, number])[] = [
  [ID3.SBA, 19],
  [ID3.VP_CC, 2],
  [ID3.CC, 2],
  [ID3.BLEND, 2],
  [ID3.VS, 9],
  [ID3.PS, 12],
  [ID3.VB, 5],
  [ID3.VE, 3],
  [ID3.TOPO, 2],
  [ID3.RECT, 4],
];

/** State commands an AVC decode batch sets up before its slices. */
const VCS_STATE: readonly (readonly [number, number])[] = [
  [ID3.MFX_MODE, 5],
  [ID3.MFX_SURF, 6],
  [ID3.MFX_BUF, 65],
  [ID3.MFX_IND, 26],
  [ID3.MFX_BSP, 10],
  [ID3.AVC_IMG, 21],
];

/** Dwords of a list of state commands. */
function statesLength(states: readonly (readonly [number, number])[]): number {
  return states.reduce((n, [, len]) => n + len, 0);
}

const DRAW_SETUP = 1 + statesLength(DRAW_STATE); // with PIPELINE_SELECT: 61
const VCS_SETUP = statesLength(VCS_STATE); // 133

/** Emits state commands with zero payloads, in order; returns the offset after them. */
function emitStates(
  out: Uint32Array,
  o: number,
  states: readonly (readonly [number, number])[],
): number {
  for (let i = 0; i < states.length; i++) o = emitGeneric(out, o, states[i][0], states[i][1]);
  return o;
}

/** The 3D pipeline set-up before the draws: state an i915/Mesa driver emits per batch. */
function emitDrawSetup(out: Uint32Array, o: number): number {
  return emitStates(out, emitPipelineSelect(out, o, PIPELINE_SELECT_3D), DRAW_STATE);
}

/** Draw `i`: its binding table, then a triangle list of 3 * (1 + i % 64) vertices. */
function emitDraw(out: Uint32Array, o: number, i: number): number {
  o = emitGeneric(out, o, ID3.BT_PS, 2);
  return emit3dPrimitive(out, o, 3 * (1 + (i % DRAW_PERIOD)), 1);
}

/** The render-target and depth flush after the draws. */
function emitDrawFlush(out: Uint32Array, o: number): number {
  const flush = PIPE_CONTROL_RENDER_TARGET_CACHE_FLUSH.mask | PIPE_CONTROL_DEPTH_CACHE_FLUSH.mask;
  return emitPipeControl(out, o, flush, -1, 0, false, false);
}

/**
 * The draw section's dwords, encoded once by the emitters above (they never change): busy
 * render workloads submit hundreds of draws a batch, and copying beats encoding them again.
 */
const DRAW_TEMPLATE = (() => {
  const setup = new Uint32Array(DRAW_SETUP), flush = new Uint32Array(PC);
  const draws = new Uint32Array(DRAW_PERIOD * DRAW_EACH);
  emitDrawSetup(setup, 0);
  for (let i = 0, o = 0; i < DRAW_PERIOD; i++) o = emitDraw(draws, o, i);
  emitDrawFlush(flush, 0);
  return { setup, draws, flush };
})();

/** Copies the first `n` dwords of `t` into `out` at `o`; returns the offset after them. */
function copyTemplate(out: Uint32Array, o: number, t: Uint32Array, n: number): number {
  if (n === t.length) out.set(t, o);
  else for (let i = 0; i < n; i++) out[o + i] = t[i];
  return o + n;
}

/** Exact number of dwords {@link buildBatch} writes for `mix` on `engine`. */
export function batchLength(mix: MixCounts, engine: number): number {
  let n = 0;
  if (engine === RCS) {
    if (mix.draw > 0) n += DRAW_SETUP + mix.draw * DRAW_EACH + PC;
    if (mix.media > 0) n += MEDIA_SETUP + mix.media * MEDIA_EACH + MSF;
    if (mix.compute > 0) n += COMPUTE_SETUP + mix.compute * COMPUTE_EACH + MSF;
  } else if (engine === BCS) {
    if (mix.blit > 0) n += mix.blit * 10 + FLUSH_DW;
    if ((mix.fill ?? 0) > 0) n += mix.fill! * 7 + FLUSH_DW;
  } else if (engine === VCS) {
    if (mix.media > 0) n += VCS_SETUP + mix.media * VCS_EACH + FLUSH_DW;
  } else if (engine === VECS) {
    if (mix.media > 0) n += VECS_SETUP + mix.media * VECS_EACH + FLUSH_DW;
  }
  n += mix.lri * 3 + mix.store * 4 + ((mix.srm ?? 0) + (mix.lrm ?? 0)) * 4;
  n += mix.lrrRegs ? (mix.lrr ?? 0) * 3 : 0;
  n += (mix.dwords?.length ?? 0) + 1; // + MI_BATCH_BUFFER_END
  return n + (n & 1); // padded to a qword with MI_NOOP
}

/**
 * Writes a batch for `mix` on `engine` into `out` at `offset`; returns the number of
 * dwords written (== {@link batchLength}). `out` must have room.
 */
export function buildBatch(
  mix: MixCounts,
  engine: number,
  opts: BatchOptions,
  out: Uint32Array,
  offset: number,
): number {
  let o = offset;
  if (engine === RCS) {
    if (mix.draw > 0) {
      const t = DRAW_TEMPLATE;
      o = copyTemplate(out, o, t.setup, t.setup.length);
      for (let left = mix.draw; left > 0; left -= DRAW_PERIOD) {
        o = copyTemplate(out, o, t.draws, Math.min(left, DRAW_PERIOD) * DRAW_EACH);
      }
      o = copyTemplate(out, o, t.flush, PC);
    }
    if (mix.media > 0) {
      o = emitPipelineSelect(out, o, PIPELINE_SELECT_MEDIA);
      o = emitGeneric(out, o, ID3.VFE, 9);
      o = emitGeneric(out, o, ID3.CURBE, 4);
      o = emitGeneric(out, o, ID3.IDL, 4);
      for (let i = 0; i < mix.media; i++) o = emitMediaObjectWalker(out, o, 120, 68);
      o = emitGeneric(out, o, ID3.MSF, 2);
    }
    if (mix.compute > 0) {
      o = emitPipelineSelect(out, o, PIPELINE_SELECT_GPGPU);
      o = emitGeneric(out, o, ID3.VFE, 9);
      o = emitGeneric(out, o, ID3.IDL, 4);
      for (let i = 0; i < mix.compute; i++) o = emitGpgpuWalker(out, o, 64, 64);
      o = emitGeneric(out, o, ID3.MSF, 2);
    }
  } else if (engine === BCS) {
    if (mix.blit > 0) {
      const w = opts.blitWidth, h = opts.blitHeight, p = opts.blitPitch;
      for (let i = 0; i < mix.blit; i++) {
        o = emitXySrcCopyBlt(out, o, opts.blitDst, p, 0, 0, w, h, opts.blitSrc, p, 0, 0);
      }
      o = emitFlushDw(out, o, -1, 0, false, false);
    }
    const fills = mix.fill ?? 0;
    if (fills > 0) {
      if (opts.fillTarget === undefined) {
        throw new Error("a batch with fills needs BatchOptions.fillTarget");
      }
      for (let i = 0; i < fills; i++) {
        const t = opts.fillTarget(i);
        o = emitXyColorBlt(out, o, t.gma, t.width * 4, 0, 0, t.width, t.height, t.color);
      }
      o = emitFlushDw(out, o, -1, 0, false, false);
    }
  } else if (engine === VCS) {
    if (mix.media > 0) {
      o = emitStates(out, o, VCS_STATE);
      for (let i = 0; i < mix.media; i++) {
        o = emitGeneric(out, o, ID3.AVC_SLICE, 11);
        o = emitGeneric(out, o, ID3.AVC_BSD, 7);
      }
      o = emitFlushDw(out, o, -1, 0, false, false);
    }
  } else if (engine === VECS) {
    if (mix.media > 0) {
      o = emitGeneric(out, o, ID3.VEB_STATE, 12);
      o = emitGeneric(out, o, ID3.VEB_SURF, 6);
      o = emitGeneric(out, o, ID3.VEB_SURF, 6);
      for (let i = 0; i < mix.media; i++) o = emitGeneric(out, o, ID3.VEB_DI, 22);
      o = emitFlushDw(out, o, -1, 0, false, false);
    }
  }
  const lriRegs = mix.lriRegs;
  for (let i = 0; i < mix.lri; i++) {
    const reg = opts.lriReg
      ? opts.lriReg(i)
      : lriRegs
      ? lriRegs[i % lriRegs.length]
      : defaultLriReg(engine, i);
    o = emitLri(out, o, reg, opts.lriValue ? opts.lriValue(i) : i);
  }
  for (let i = 0; i < (mix.srm ?? 0); i++) {
    const reg = mix.srmRegs ? mix.srmRegs[i % mix.srmRegs.length] : DEFAULT_SRM_REG;
    o = emitStoreRegisterMem(out, o, reg, opts.storeAddr(i), opts.ggtt);
  }
  for (let i = 0; i < (mix.lrm ?? 0); i++) {
    const reg = mix.lrmRegs ? mix.lrmRegs[i % mix.lrmRegs.length] : DEFAULT_SRM_REG;
    o = emitLoadRegisterMem(out, o, reg, opts.storeAddr(i), opts.ggtt);
  }
  const lrr = mix.lrrRegs;
  if (lrr) {
    for (let i = 0; i < (mix.lrr ?? 0); i++) o = emitLoadRegisterReg(out, o, lrr[0], lrr[1]);
  }
  if (mix.dwords) { for (const d of mix.dwords) out[o++] = d >>> 0; }
  for (let i = 0; i < mix.store; i++) {
    o = emitStoreDataImm(out, o, opts.storeAddr(i), opts.storeValue(i), opts.ggtt);
  }
  o = emitBatchBufferEnd(out, o);
  if ((o - offset) & 1) o = emitNoop(out, o);
  return o - offset;
}

/** Dwords {@link emitRingRequest} writes for an engine. */
export function ringRequestLength(engine: number): number {
  return engine === RCS ? 12 : 10;
}

/**
 * The ring part of one request, as i915's gen8 execlists emit it: arbitration on,
 * MI_BATCH_BUFFER_START of the batch, then the breadcrumb: a post-sync write of `seqno` to
 * `seqnoGma` (global GTT; PIPE_CONTROL on RCS, MI_FLUSH_DW elsewhere), MI_USER_INTERRUPT
 * and MI_NOOP padding. Returns the offset after it ({@link ringRequestLength} dwords).
 */
export function emitRingRequest(
  out: Uint32Array,
  o: number,
  engine: number,
  batchGma: number,
  batchPpgtt: boolean,
  seqnoGma: number,
  seqno: number,
): number {
  o = emitArbOnOff(out, o, true);
  o = emitBatchBufferStart(out, o, batchGma, batchPpgtt, false);
  if (engine === RCS) {
    o = emitPipeControl(out, o, PIPE_CONTROL_DC_FLUSH_ENABLE.mask, seqnoGma, seqno, true, false);
  } else {
    o = emitFlushDw(out, o, seqnoGma, seqno, true, false);
  }
  o = emitUserInterrupt(out, o);
  return emitNoop(out, o);
}
