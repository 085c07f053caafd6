/**
 * Command encoder: writes real gen8+/gen9 command dwords into a Uint32Array. Every function
 * takes `(out, o, ...)` and returns the offset after the command, so streams are built
 * without allocation. Headers come from the shared table ({@link header}).
 */

import {
  cmdId,
  header,
  ID,
  MI_FLUSH_DW_USE_GTT,
  PIPE_CONTROL_GLOBAL_GTT_IVB,
  PIPE_CONTROL_MMIO_WRITE,
} from "./table.ts";

const ID_PIPELINE_SELECT = cmdId("PIPELINE_SELECT");

/** MI_USE_GGTT / MI_SRM_LRM_GLOBAL_GTT / MI_SEMAPHORE_GLOBAL_GTT (dw0 bit 22). */
export const MI_USE_GGTT = 1 << 22;
/** MI_BATCH_BUFFER_START: address space indicator, PPGTT (bit 8). */
export const MI_BATCH_PPGTT_GEN8 = 1 << 8;
/** MI_BATCH_BUFFER_START: second-level batch (bit 22). */
export const MI_BATCH_2ND_LEVEL = 1 << 22;
/** MI_ARB_ON_OFF: enable arbitration (bit 0). */
export const MI_ARB_ENABLE = 1 << 0;
/** MI_FLUSH_DW: post-sync op "store dword" (bits 15:14 = 1). */
export const MI_FLUSH_DW_OP_STOREDW = 1 << 14;
/** MI_FLUSH_DW: notify (bit 8). */
export const MI_FLUSH_DW_NOTIFY = 1 << 8;
/** MI_FLUSH_DW: invalidate TLB (bit 18). */
export const MI_INVALIDATE_TLB = 1 << 18;
/** PIPE_CONTROL dw1: CS stall. */
export const PIPE_CONTROL_CS_STALL = 1 << 20;
/** PIPE_CONTROL dw1: post-sync write immediate (QW write, op 1). */
export const PIPE_CONTROL_QW_WRITE = 1 << 14;
/** PIPE_CONTROL dw1: post-sync write timestamp (op 3). */
export const PIPE_CONTROL_WRITE_TIMESTAMP = 3 << 14;
/** PIPE_CONTROL dw1: notify (raises PIPE_CONTROL notify interrupt). */
export const PIPE_CONTROL_NOTIFY = 1 << 8;
/** PIPE_CONTROL dw1: render target cache flush. */
export const PIPE_CONTROL_RENDER_TARGET_CACHE_FLUSH = 1 << 12;
/** PIPE_CONTROL dw1: depth cache flush. */
export const PIPE_CONTROL_DEPTH_CACHE_FLUSH = 1 << 0;
/** PIPE_CONTROL dw1: DC flush. */
export const PIPE_CONTROL_DC_FLUSH_ENABLE = 1 << 5;
/** XY blits: write alpha channel. */
export const XY_BLT_WRITE_ALPHA = 1 << 21;
/** XY blits: write RGB channels. */
export const XY_BLT_WRITE_RGB = 1 << 20;
/** BR13: 32 bpp colour depth. */
export const BLT_DEPTH_32 = 3 << 24;
/** BR13: ROP source copy. */
export const BLT_ROP_SRC_COPY = 0xcc << 16;
/** BR13: ROP pattern (colour) copy. */
export const BLT_ROP_COLOR_COPY = 0xf0 << 16;
/** MI_DISPLAY_FLIP plane codes (dw0 bits 21:19): primary A, B, C. */
export const MI_DISPLAY_FLIP_IVB_PLANE: readonly number[] = [0 << 19, 1 << 19, 4 << 19];
/** PIPELINE_SELECT pipelines. */
export const PIPELINE_SELECT_3D = 0, PIPELINE_SELECT_MEDIA = 1, PIPELINE_SELECT_GPGPU = 2;

const U32 = 4294967296;

function lo(a: number): number {
  return a >>> 0;
}
function hi(a: number): number {
  return Math.floor(a / U32) >>> 0;
}

/** MI_NOOP. */
export function emitNoop(out: Uint32Array, o: number): number {
  out[o] = 0;
  return o + 1;
}

/** MI_ARB_CHECK. */
export function emitArbCheck(out: Uint32Array, o: number): number {
  out[o] = header(ID.MI_ARB_CHECK, 1);
  return o + 1;
}

/** MI_ARB_ON_OFF (enable or disable arbitration). */
export function emitArbOnOff(out: Uint32Array, o: number, enable: boolean): number {
  out[o] = header(ID.MI_ARB_ON_OFF, 1, enable ? MI_ARB_ENABLE : 0);
  return o + 1;
}

/** MI_USER_INTERRUPT. */
export function emitUserInterrupt(out: Uint32Array, o: number): number {
  out[o] = header(ID.MI_USER_INTERRUPT, 1);
  return o + 1;
}

/** MI_BATCH_BUFFER_START (gen8, 3 dwords) to `gma` in the PPGTT or GGTT; optionally 2nd level. */
export function emitBatchBufferStart(
  out: Uint32Array,
  o: number,
  gma: number,
  ppgtt: boolean,
  secondLevel = false,
): number {
  const f = (ppgtt ? MI_BATCH_PPGTT_GEN8 : 0) | (secondLevel ? MI_BATCH_2ND_LEVEL : 0);
  out[o] = header(ID.MI_BATCH_BUFFER_START, 3, f);
  out[o + 1] = lo(gma) & ~3;
  out[o + 2] = hi(gma) & 0xffff;
  return o + 3;
}

/** MI_BATCH_BUFFER_END. */
export function emitBatchBufferEnd(out: Uint32Array, o: number): number {
  out[o] = header(ID.MI_BATCH_BUFFER_END, 1);
  return o + 1;
}

/** MI_LOAD_REGISTER_IMM with one (register, value) pair. */
export function emitLri(out: Uint32Array, o: number, reg: number, value: number): number {
  out[o] = header(ID.MI_LOAD_REGISTER_IMM, 3);
  out[o + 1] = reg;
  out[o + 2] = value >>> 0;
  return o + 3;
}

/** MI_STORE_DATA_IMM (gen8, 4 dwords): store a dword at `gma` (GGTT if `ggtt`). */
export function emitStoreDataImm(
  out: Uint32Array,
  o: number,
  gma: number,
  value: number,
  ggtt: boolean,
): number {
  out[o] = header(ID.MI_STORE_DATA_IMM, 4, ggtt ? MI_USE_GGTT : 0);
  out[o + 1] = lo(gma) & ~3;
  out[o + 2] = hi(gma);
  out[o + 3] = value >>> 0;
  return o + 4;
}

/** MI_STORE_REGISTER_MEM (gen8, 4 dwords): store register `reg` at `gma`. */
export function emitStoreRegisterMem(
  out: Uint32Array,
  o: number,
  reg: number,
  gma: number,
  ggtt: boolean,
): number {
  out[o] = header(ID.MI_STORE_REGISTER_MEM, 4, ggtt ? MI_USE_GGTT : 0);
  out[o + 1] = reg;
  out[o + 2] = lo(gma) & ~3;
  out[o + 3] = hi(gma);
  return o + 4;
}

/**
 * MI_FLUSH_DW (4 dwords). With `gma >= 0` a post-sync dword write of `value` (GGTT if
 * `ggtt`); `notify` raises the flush-notify interrupt.
 */
export function emitFlushDw(
  out: Uint32Array,
  o: number,
  gma: number,
  value: number,
  ggtt: boolean,
  notify: boolean,
): number {
  const post = gma >= 0 ? MI_FLUSH_DW_OP_STOREDW : 0;
  out[o] = header(ID.MI_FLUSH_DW, 4, post | (notify ? MI_FLUSH_DW_NOTIFY : 0) | MI_INVALIDATE_TLB);
  out[o + 1] = gma >= 0 ? (lo(gma) & ~7) | (ggtt ? MI_FLUSH_DW_USE_GTT : 0) : 0;
  out[o + 2] = gma >= 0 ? hi(gma) : 0;
  out[o + 3] = value >>> 0;
  return o + 4;
}

/**
 * PIPE_CONTROL (gen8, 6 dwords). `flags` are dw1 flush bits; with `gma >= 0` a post-sync
 * write of the immediate `value` (GGTT if `ggtt`); `notify` raises the notify interrupt.
 */
export function emitPipeControl(
  out: Uint32Array,
  o: number,
  flags: number,
  gma: number,
  value: number,
  ggtt: boolean,
  notify: boolean,
): number {
  let dw1 = flags | PIPE_CONTROL_CS_STALL;
  if (gma >= 0) dw1 |= PIPE_CONTROL_QW_WRITE | (ggtt ? PIPE_CONTROL_GLOBAL_GTT_IVB : 0);
  if (notify) dw1 |= PIPE_CONTROL_NOTIFY;
  out[o] = header(ID.PIPE_CONTROL, 6);
  out[o + 1] = dw1 >>> 0;
  out[o + 2] = gma >= 0 ? lo(gma) & ~7 : 0;
  out[o + 3] = gma >= 0 ? hi(gma) : 0;
  out[o + 4] = value >>> 0;
  out[o + 5] = 0;
  return o + 6;
}

/** PIPE_CONTROL (6 dwords) whose post-sync operation writes `value` to register `reg`. */
export function emitPipeControlRegWrite(
  out: Uint32Array,
  o: number,
  reg: number,
  value: number,
): number {
  out[o] = header(ID.PIPE_CONTROL, 6);
  out[o + 1] = (PIPE_CONTROL_CS_STALL | PIPE_CONTROL_MMIO_WRITE) >>> 0;
  out[o + 2] = reg >>> 0;
  out[o + 3] = 0;
  out[o + 4] = value >>> 0;
  out[o + 5] = 0;
  return o + 6;
}

/** MI_DISPLAY_FLIP (3 dwords) of the primary plane of `pipe` to `surfGma`. */
export function emitDisplayFlip(
  out: Uint32Array,
  o: number,
  pipe: number,
  pitch: number,
  surfGma: number,
): number {
  out[o] = header(ID.MI_DISPLAY_FLIP, 3, MI_DISPLAY_FLIP_IVB_PLANE[pipe] ?? 0);
  out[o + 1] = pitch >>> 0;
  out[o + 2] = lo(surfGma) & ~0xfff;
  return o + 3;
}

/**
 * XY_SRC_COPY_BLT (gen8, 10 dwords), 32 bpp: copies the rectangle (x1,y1)-(x2,y2) of the
 * source surface at (srcX, srcY) to the destination.
 */
export function emitXySrcCopyBlt(
  out: Uint32Array,
  o: number,
  dst: number,
  dstPitch: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  src: number,
  srcPitch: number,
  srcX: number,
  srcY: number,
): number {
  out[o] = header(ID.XY_SRC_COPY_BLT, 10, XY_BLT_WRITE_ALPHA | XY_BLT_WRITE_RGB);
  out[o + 1] = (BLT_DEPTH_32 | BLT_ROP_SRC_COPY | (dstPitch & 0xffff)) >>> 0;
  out[o + 2] = ((y1 << 16) | (x1 & 0xffff)) >>> 0;
  out[o + 3] = ((y2 << 16) | (x2 & 0xffff)) >>> 0;
  out[o + 4] = lo(dst);
  out[o + 5] = hi(dst);
  out[o + 6] = ((srcY << 16) | (srcX & 0xffff)) >>> 0;
  out[o + 7] = srcPitch & 0xffff;
  out[o + 8] = lo(src);
  out[o + 9] = hi(src);
  return o + 10;
}

/** XY_COLOR_BLT (gen8, 7 dwords), 32 bpp: fills a rectangle with `color`. */
export function emitXyColorBlt(
  out: Uint32Array,
  o: number,
  dst: number,
  pitch: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  color: number,
): number {
  out[o] = header(ID.XY_COLOR_BLT, 7, XY_BLT_WRITE_ALPHA | XY_BLT_WRITE_RGB);
  out[o + 1] = (BLT_DEPTH_32 | BLT_ROP_COLOR_COPY | (pitch & 0xffff)) >>> 0;
  out[o + 2] = ((y1 << 16) | (x1 & 0xffff)) >>> 0;
  out[o + 3] = ((y2 << 16) | (x2 & 0xffff)) >>> 0;
  out[o + 4] = lo(dst);
  out[o + 5] = hi(dst);
  out[o + 6] = color >>> 0;
  return o + 7;
}

/** PIPELINE_SELECT (gen9, with the mask bits 9:8). */
export function emitPipelineSelect(out: Uint32Array, o: number, pipeline: number): number {
  out[o] = header(ID_PIPELINE_SELECT, 1, (3 << 8) | (pipeline & 3));
  return o + 1;
}

/** 3DPRIMITIVE (gen8, 7 dwords): a draw of `vertices` x `instances`. */
export function emit3dPrimitive(
  out: Uint32Array,
  o: number,
  vertices: number,
  instances: number,
): number {
  out[o] = header(ID["3DPRIMITIVE"], 7);
  out[o + 1] = 4; // _3DPRIM_TRILIST
  out[o + 2] = vertices >>> 0;
  out[o + 3] = 0;
  out[o + 4] = instances >>> 0;
  out[o + 5] = 0;
  out[o + 6] = 0;
  return o + 7;
}

/** MEDIA_OBJECT (6 dwords). */
export function emitMediaObject(out: Uint32Array, o: number, interfaceDescriptor: number): number {
  out[o] = header(ID.MEDIA_OBJECT, 6);
  out[o + 1] = interfaceDescriptor & 0x3f;
  out.fill(0, o + 2, o + 6);
  return o + 6;
}

/** MEDIA_OBJECT_WALKER (17 dwords) over a `w` x `h` thread grid. */
export function emitMediaObjectWalker(out: Uint32Array, o: number, w: number, h: number): number {
  out[o] = header(ID.MEDIA_OBJECT_WALKER, 17);
  out.fill(0, o + 1, o + 17);
  out[o + 10] = ((h & 0x3ff) << 16 | (w & 0x3ff)) >>> 0; // global resolution
  return o + 17;
}

/** GPGPU_WALKER (gen8, 15 dwords) dispatching `x` x `y` thread groups. */
export function emitGpgpuWalker(out: Uint32Array, o: number, x: number, y: number): number {
  out[o] = header(ID.GPGPU_WALKER, 15);
  out.fill(0, o + 1, o + 15);
  out[o + 7] = x >>> 0; // thread group id X dimension
  out[o + 10] = y >>> 0; // thread group id Y dimension
  out[o + 12] = 1; // Z dimension
  return o + 15;
}

/** Any table command with a zero payload of `lengthDw` dwords (state commands). */
export function emitGeneric(out: Uint32Array, o: number, id: number, lengthDw: number): number {
  out[o] = header(id, lengthDw);
  for (let i = o + 1; i < o + lengthDw; i++) out[i] = 0; // short: cheaper than fill()
  return o + lengthDw;
}

/** MI_UPDATE_GTT (rejected by the scanner): writes `count` GGTT entries from `ggttOffset`. */
export function emitUpdateGtt(
  out: Uint32Array,
  o: number,
  ggttOffset: number,
  pte: number,
  count: number,
): number {
  out[o] = header(ID.MI_UPDATE_GTT, 2 + 2 * count);
  out[o + 1] = ggttOffset >>> 0;
  for (let i = 0; i < count; i++) {
    out[o + 2 + 2 * i] = lo(pte + i * 4096);
    out[o + 3 + 2 * i] = hi(pte + i * 4096);
  }
  return o + 2 + 2 * count;
}

/** MI_SEMAPHORE_WAIT (rejected): poll `gma` until it is >= `value` (GGTT). */
export function emitSemaphoreWait(out: Uint32Array, o: number, gma: number, value: number): number {
  out[o] = header(ID.MI_SEMAPHORE_WAIT, 4, MI_USE_GGTT | (1 << 15));
  out[o + 1] = value >>> 0;
  out[o + 2] = lo(gma) & ~3;
  out[o + 3] = hi(gma);
  return o + 4;
}

/** MI_REPORT_PERF_COUNT (rejected): write a performance report to `gma` (GGTT). */
export function emitReportPerfCount(out: Uint32Array, o: number, gma: number, id: number): number {
  out[o] = header(ID.MI_REPORT_PERF_COUNT, 4);
  out[o + 1] = (lo(gma) & ~0x3f) | 1;
  out[o + 2] = hi(gma);
  out[o + 3] = id >>> 0;
  return o + 4;
}

/** MI_STORE_DATA_INDEX (rejected): store `value` at dword `index` of the status page. */
export function emitStoreDataIndex(
  out: Uint32Array,
  o: number,
  index: number,
  value: number,
): number {
  out[o] = header(ID.MI_STORE_DATA_INDEX, 3);
  out[o + 1] = (index << 2) >>> 0;
  out[o + 2] = value >>> 0;
  return o + 3;
}

/** MI_CLFLUSH (rejected): flush the cache lines of the page at `gma` (GGTT). */
export function emitClflush(out: Uint32Array, o: number, gma: number): number {
  out[o] = header(ID.MI_CLFLUSH, 3, MI_USE_GGTT);
  out[o + 1] = lo(gma) & ~0xfff;
  out[o + 2] = hi(gma);
  return o + 3;
}

/** MI_CONDITIONAL_BATCH_BUFFER_END (rejected): end the batch if mem[gma] <= `value`. */
export function emitConditionalBatchBufferEnd(
  out: Uint32Array,
  o: number,
  gma: number,
  value: number,
): number {
  out[o] = header(ID.MI_CONDITIONAL_BATCH_BUFFER_END, 4, MI_USE_GGTT | (1 << 21));
  out[o + 1] = value >>> 0;
  out[o + 2] = lo(gma) & ~7;
  out[o + 3] = hi(gma);
  return o + 4;
}

/** MI_LOAD_REGISTER_MEM (gen8, 4 dwords): load register `reg` from `gma`. */
export function emitLoadRegisterMem(
  out: Uint32Array,
  o: number,
  reg: number,
  gma: number,
  ggtt: boolean,
): number {
  out[o] = header(ID.MI_LOAD_REGISTER_MEM, 4, ggtt ? MI_USE_GGTT : 0);
  out[o + 1] = reg >>> 0;
  out[o + 2] = lo(gma) & ~3;
  out[o + 3] = hi(gma);
  return o + 4;
}

/** MI_LOAD_REGISTER_REG (3 dwords): copy register `src` to register `dst`. */
export function emitLoadRegisterReg(out: Uint32Array, o: number, src: number, dst: number): number {
  out[o] = header(ID.MI_LOAD_REGISTER_REG, 3);
  out[o + 1] = src >>> 0;
  out[o + 2] = dst >>> 0;
  return o + 3;
}

/** MI_ATOMIC (MI_OP_2F, 3 dwords): a dword atomic operation `op` on `gma` (GGTT if `ggtt`). */
export function emitAtomic(
  out: Uint32Array,
  o: number,
  gma: number,
  op: number,
  ggtt: boolean,
): number {
  out[o] = header(ID.MI_ATOMIC, 3, (ggtt ? MI_USE_GGTT : 0) | ((op & 0xff) << 8));
  out[o + 1] = lo(gma) & ~3;
  out[o + 2] = hi(gma) & 0xffff;
  return o + 3;
}

/** MI_OP_2E, MI_MEM_TO_MEM (rejected, 5 dwords): copy a dword from `src` to `dst`. */
export function emitMemToMem(out: Uint32Array, o: number, dst: number, src: number): number {
  out[o] = header(ID.MI_OP_2E, 5);
  out[o + 1] = lo(dst) & ~3;
  out[o + 2] = hi(dst);
  out[o + 3] = lo(src) & ~3;
  out[o + 4] = hi(src);
  return o + 5;
}
