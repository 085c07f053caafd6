/**
 * Command encoder: writes real gen8+/gen9 command dwords into a Uint32Array. Every function
 * takes `(out, o, ...)` and returns the offset after the command, so streams are built
 * without allocation. Headers come from the shared table ({@link header}).
 */

import { fieldValue } from "../hw/bits.ts";
import {
  ARB_ENABLE,
  ATOMIC_OPCODE,
  BB_2ND_LEVEL,
  BB_PPGTT,
  bltCorner,
  BR13_DEPTH,
  BR13_PITCH,
  BR13_ROP,
  CMD_GMA,
  CMD_GMA_64B,
  CMD_GMA_BYTE,
  CMD_GMA_PAGE,
  CMD_GMA_QW,
  COND_BB_END_COMPARE_SEMAPHORE,
  DISPLAY_FLIP_PLANE,
  FLIP_PLANE_CODES,
  FLUSH_DW_INVALIDATE_TLB,
  FLUSH_DW_USE_GTT,
  MEDIA_INTERFACE_DESCRIPTOR,
  MI_USE_GGTT_BIT,
  NOTIFY,
  PIPE_CONTROL_CS_STALL,
  PIPE_CONTROL_GLOBAL_GTT,
  PIPE_CONTROL_MMIO_WRITE_BIT,
  PIPELINE_SELECT_MASK,
  PIPELINE_SELECT_PIPELINE,
  POST_SYNC_OP,
  POST_SYNC_WRITE_IMM,
  POST_SYNC_WRITE_TIMESTAMP,
  putCmdAddress,
  REPORT_PERF_USE_GGTT,
  SEMAPHORE_POLL,
  STORE_INDEX_OFFSET,
  WALKER_RES_X,
  WALKER_RES_Y,
  XY_BLT_WRITE_ALPHA,
  XY_BLT_WRITE_RGB,
} from "./fields.ts";
import { cmdId, header, ID } from "./table.ts";
import { PAGE_SIZE } from "../hw/memory.ts";
import { entryHi, entryLo } from "../hw/pte.ts";

const ID_PIPELINE_SELECT = cmdId("PIPELINE_SELECT");

// Flag values the encoders and their callers combine (the fields are in core/cmd/fields.ts).
/** MI_USE_GGTT / MI_SRM_LRM_GLOBAL_GTT / MI_SEMAPHORE_GLOBAL_GTT (dw0 bit 22). */
export const MI_USE_GGTT: number = MI_USE_GGTT_BIT.mask;
/** MI_ARB_ON_OFF: enable arbitration. */
export const MI_ARB_ENABLE: number = ARB_ENABLE.mask;
/** MI_FLUSH_DW: invalidate the TLBs. */
export const MI_INVALIDATE_TLB: number = FLUSH_DW_INVALIDATE_TLB.mask;
/** Post-sync operation "write immediate data" (PIPE_CONTROL dw1, MI_FLUSH_DW dw0). */
const POST_SYNC_IMM = fieldValue(POST_SYNC_OP, POST_SYNC_WRITE_IMM);
/** PIPE_CONTROL dw1: post-sync write of the timestamp. */
export const PIPE_CONTROL_WRITE_TIMESTAMP: number = fieldValue(
  POST_SYNC_OP,
  POST_SYNC_WRITE_TIMESTAMP,
);
const PIPE_CONTROL_STALL = PIPE_CONTROL_CS_STALL.mask;
const XY_BLT_WRITE_ARGB = XY_BLT_WRITE_ALPHA.mask | XY_BLT_WRITE_RGB.mask;
/** BR13: 32 bpp colour depth. */
export const BLT_DEPTH_32: number = fieldValue(BR13_DEPTH, 3);
/** BR13: ROP source copy. */
export const BLT_ROP_SRC_COPY: number = fieldValue(BR13_ROP, 0xcc);
/** BR13: ROP pattern (colour) copy. */
export const BLT_ROP_COLOR_COPY: number = fieldValue(BR13_ROP, 0xf0);
/** MI_DISPLAY_FLIP dw0 plane code of each pipe's primary plane. */
const PRIMARY_PLANE_CODE: readonly number[] = [0, 1, 2].map((pipe) =>
  fieldValue(DISPLAY_FLIP_PLANE, FLIP_PLANE_CODES.findIndex((c) => c.primary && c.pipe === pipe))
);
/** PIPELINE_SELECT pipelines. */
export const PIPELINE_SELECT_3D = 0, PIPELINE_SELECT_MEDIA = 1, PIPELINE_SELECT_GPGPU = 2;

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
  const f = (ppgtt ? BB_PPGTT.mask : 0) | (secondLevel ? BB_2ND_LEVEL.mask : 0);
  out[o] = header(ID.MI_BATCH_BUFFER_START, 3, f);
  putCmdAddress(out, o + 1, gma, CMD_GMA);
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
  putCmdAddress(out, o + 1, gma, CMD_GMA);
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
  putCmdAddress(out, o + 2, gma, CMD_GMA);
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
  const post = gma >= 0 ? POST_SYNC_IMM : 0;
  out[o] = header(ID.MI_FLUSH_DW, 4, post | (notify ? NOTIFY.mask : 0) | MI_INVALIDATE_TLB);
  if (gma >= 0) putCmdAddress(out, o + 1, gma, CMD_GMA_QW, ggtt ? FLUSH_DW_USE_GTT.mask : 0);
  else out[o + 1] = out[o + 2] = 0;
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
  let dw1 = flags | PIPE_CONTROL_STALL;
  if (gma >= 0) dw1 |= POST_SYNC_IMM | (ggtt ? PIPE_CONTROL_GLOBAL_GTT.mask : 0);
  if (notify) dw1 |= NOTIFY.mask;
  out[o] = header(ID.PIPE_CONTROL, 6);
  out[o + 1] = dw1 >>> 0;
  if (gma >= 0) putCmdAddress(out, o + 2, gma, CMD_GMA_QW);
  else out[o + 2] = out[o + 3] = 0;
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
  out[o + 1] = (PIPE_CONTROL_STALL | PIPE_CONTROL_MMIO_WRITE_BIT.mask) >>> 0;
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
  out[o] = header(ID.MI_DISPLAY_FLIP, 3, PRIMARY_PLANE_CODE[pipe] ?? 0);
  out[o + 1] = pitch >>> 0;
  out[o + 2] = (surfGma & CMD_GMA_PAGE.mask) >>> 0;
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
  out[o] = header(ID.XY_SRC_COPY_BLT, 10, XY_BLT_WRITE_ARGB);
  out[o + 1] = (BLT_DEPTH_32 | BLT_ROP_SRC_COPY | fieldValue(BR13_PITCH, dstPitch)) >>> 0;
  out[o + 2] = bltCorner(x1, y1);
  out[o + 3] = bltCorner(x2, y2);
  putCmdAddress(out, o + 4, dst, CMD_GMA_BYTE);
  out[o + 6] = bltCorner(srcX, srcY);
  out[o + 7] = fieldValue(BR13_PITCH, srcPitch);
  putCmdAddress(out, o + 8, src, CMD_GMA_BYTE);
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
  out[o] = header(ID.XY_COLOR_BLT, 7, XY_BLT_WRITE_ARGB);
  out[o + 1] = (BLT_DEPTH_32 | BLT_ROP_COLOR_COPY | fieldValue(BR13_PITCH, pitch)) >>> 0;
  out[o + 2] = bltCorner(x1, y1);
  out[o + 3] = bltCorner(x2, y2);
  putCmdAddress(out, o + 4, dst, CMD_GMA_BYTE);
  out[o + 6] = color >>> 0;
  return o + 7;
}

/** PIPELINE_SELECT (gen9, with the mask bits 9:8). */
export function emitPipelineSelect(out: Uint32Array, o: number, pipeline: number): number {
  const mask = PIPELINE_SELECT_MASK.mask;
  out[o] = header(ID_PIPELINE_SELECT, 1, mask | fieldValue(PIPELINE_SELECT_PIPELINE, pipeline));
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
  out[o + 1] = fieldValue(MEDIA_INTERFACE_DESCRIPTOR, interfaceDescriptor);
  out.fill(0, o + 2, o + 6);
  return o + 6;
}

/** MEDIA_OBJECT_WALKER (17 dwords) over a `w` x `h` thread grid. */
export function emitMediaObjectWalker(out: Uint32Array, o: number, w: number, h: number): number {
  out[o] = header(ID.MEDIA_OBJECT_WALKER, 17);
  out.fill(0, o + 1, o + 17);
  out[o + 10] = (fieldValue(WALKER_RES_Y, h) | fieldValue(WALKER_RES_X, w)) >>> 0; // global resolution
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
    out[o + 2 + 2 * i] = entryLo(pte + i * PAGE_SIZE, 0);
    out[o + 3 + 2 * i] = entryHi(pte + i * PAGE_SIZE);
  }
  return o + 2 + 2 * count;
}

/** MI_SEMAPHORE_WAIT (rejected): poll `gma` until it is >= `value` (GGTT). */
export function emitSemaphoreWait(out: Uint32Array, o: number, gma: number, value: number): number {
  out[o] = header(ID.MI_SEMAPHORE_WAIT, 4, MI_USE_GGTT | SEMAPHORE_POLL.mask);
  out[o + 1] = value >>> 0;
  putCmdAddress(out, o + 2, gma, CMD_GMA);
  return o + 4;
}

/** MI_REPORT_PERF_COUNT (rejected): write a performance report to `gma` (GGTT). */
export function emitReportPerfCount(out: Uint32Array, o: number, gma: number, id: number): number {
  out[o] = header(ID.MI_REPORT_PERF_COUNT, 4);
  putCmdAddress(out, o + 1, gma, CMD_GMA_64B, REPORT_PERF_USE_GGTT.mask);
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
  out[o + 1] = fieldValue(STORE_INDEX_OFFSET, index);
  out[o + 2] = value >>> 0;
  return o + 3;
}

/** MI_CLFLUSH (rejected): flush the cache lines of the page at `gma` (GGTT). */
export function emitClflush(out: Uint32Array, o: number, gma: number): number {
  out[o] = header(ID.MI_CLFLUSH, 3, MI_USE_GGTT);
  putCmdAddress(out, o + 1, gma, CMD_GMA_PAGE);
  return o + 3;
}

/** MI_CONDITIONAL_BATCH_BUFFER_END (rejected): end the batch if mem[gma] <= `value`. */
export function emitConditionalBatchBufferEnd(
  out: Uint32Array,
  o: number,
  gma: number,
  value: number,
): number {
  const flags = MI_USE_GGTT | COND_BB_END_COMPARE_SEMAPHORE.mask;
  out[o] = header(ID.MI_CONDITIONAL_BATCH_BUFFER_END, 4, flags);
  out[o + 1] = value >>> 0;
  putCmdAddress(out, o + 2, gma, CMD_GMA_QW);
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
  putCmdAddress(out, o + 2, gma, CMD_GMA);
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
  out[o] = header(ID.MI_ATOMIC, 3, (ggtt ? MI_USE_GGTT : 0) | fieldValue(ATOMIC_OPCODE, op));
  putCmdAddress(out, o + 1, gma, CMD_GMA);
  return o + 3;
}

/** MI_OP_2E, MI_MEM_TO_MEM (rejected, 5 dwords): copy a dword from `src` to `dst`. */
export function emitMemToMem(out: Uint32Array, o: number, dst: number, src: number): number {
  out[o] = header(ID.MI_OP_2E, 5);
  putCmdAddress(out, o + 1, dst, CMD_GMA);
  putCmdAddress(out, o + 3, src, CMD_GMA);
  return o + 5;
}
