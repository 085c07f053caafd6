/**
 * THE table of named command fields: every bit of a command dword that gvtsim reads or
 * writes, for everything that handles commands: the command table's header arithmetic
 * (core/cmd/table.ts), the guest and native encoders (core/cmd/encode.ts), the GPU's command
 * streamer (core/hw/streamer.ts) and the mediator's command parser (core/gvt/cmd_audit.ts,
 * scanner.ts). Code outside this module names a field; it never shifts or masks by hand.
 *
 * Sources (Linux drivers/gpu/drm/i915/): gvt/cmd_parser.c (`CMD_TYPE`, `get_opcode`,
 * `get_cmd_length`, the `OP_*` macros; `cmd_reg`, `cmd_reg_inhibit`, `cmd_gma`, `cmd_gma_hi`,
 * `cmd_val`; `cmd_handler_pipe_control`, `cmd_handler_mi_flush_dw`,
 * `cmd_handler_mi_store_data_imm`, `cmd_handler_mi_op_2f`, `cmd_handler_mi_batch_buffer_start`,
 * `gen8_decode_mi_display_flip`), gt/intel_gpu_commands.h (MI_USE_GGTT, MI_BATCH_PPGTT_HSW,
 * MI_BATCH_2ND_LEVEL, PIPE_CONTROL_*, MI_FLUSH_DW_*, MI_ATOMIC_*, PIPELINE_SELECT).
 */

import { bit, type BitField, field, fieldValue, getField, hi32, join64, lo32 } from "../hw/bits.ts";

// ---- the header (dword 0) ----

/** Command type (dword 0 bits 31:29; `CMD_TYPE(cmd)`): 0 MI, 2 2D, 3 3D/media/MFX/VEBOX. */
export const CMD_TYPE: BitField = field(31, 29);
/** Opcode of an MI command, type bits included (`get_opcode`: dw0 >> (32 - 9)). */
export const OPCODE_MI: BitField = field(31, 23);
/** Opcode of a 2D (blitter) command, type bits included (dw0 >> (32 - 10)). */
export const OPCODE_2D: BitField = field(31, 22);
/** Opcode of a 3D / media / MFX / VEBOX command, type bits included (dw0 >> (32 - 16)). */
export const OPCODE_3D: BitField = field(31, 16);
/** The dword-0 bits the decoder looks up (31:16): every opcode lies within them. */
export const DECODE_KEY: BitField = OPCODE_3D;

/** The opcode field of a command type (see {@link CMD_TYPE}). */
export function opcodeField(type: number): BitField {
  return type === 0 ? OPCODE_MI : type === 2 ? OPCODE_2D : OPCODE_3D;
}

/** A variable-length command's length field: its low `bits` bits hold length - 2. */
export function lengthField(bits: number): BitField {
  return field(bits - 1, 0);
}

/**
 * Parts of a 3D/media opcode (`OP_3D_MEDIA(sub_type, opcode, sub_opcode)`) and of an MFX /
 * VEBOX opcode (`OP_MFX(pipeline, op, sub_opa, sub_opb)`), as bits of the 16-bit opcode.
 */
export const OP3D_TYPE: BitField = field(15, 13),
  OP3D_SUBTYPE: BitField = field(12, 11),
  OP3D_OPCODE: BitField = field(10, 8),
  OP3D_SUBOPCODE: BitField = field(7, 0),
  OPMFX_SUBOPA: BitField = field(7, 5),
  OPMFX_SUBOPB: BitField = field(4, 0);
/** Parts of a 2D opcode (`OP_2D(x)`): the type (bits 9:7) and the operation (6:0). */
export const OP2D_TYPE: BitField = field(9, 7), OP2D_OPCODE: BitField = field(6, 0);

// ---- addresses and registers inside commands ----

/** MI_* dword 0: the address is a global-GTT address (MI_USE_GGTT, bit 22). */
export const MI_USE_GGTT_BIT: BitField = bit(22);
/** A register dword: the register offset (`cmd_reg`: bits 22:2). */
export const CMD_REG: BitField = field(22, 2);
/** Broadwell's forbidden register bits (`cmd_reg_inhibit`: bits 22:18). */
export const CMD_REG_INHIBIT: BitField = field(22, 18);
/** Graphics address bits 31:2 of a low address dword (`cmd_gma`, dword aligned). */
export const CMD_GMA: BitField = field(31, 2);
/** Qword-aligned address bits 31:3 (PIPE_CONTROL, MI_FLUSH_DW, MI_CONDITIONAL_BATCH_BUFFER_END). */
export const CMD_GMA_QW: BitField = field(31, 3);
/** Byte address bits 31:0 (blitter surfaces). */
export const CMD_GMA_BYTE: BitField = field(31, 0);
/** 64-byte aligned address bits 31:6 (MI_REPORT_PERF_COUNT). */
export const CMD_GMA_64B: BitField = field(31, 6);
/** Page-aligned address bits 31:12 (MI_DISPLAY_FLIP, MI_CLFLUSH). */
export const CMD_GMA_PAGE: BitField = field(31, 12);
/** Graphics address bits 47:32 in a high address dword (`cmd_gma_hi`: bits 15:0). */
export const CMD_GMA_HI: BitField = field(15, 0);
/** MI_BATCH_BUFFER_START dword 0: second-level batch (bit 22). */
export const BB_2ND_LEVEL: BitField = bit(22);
/** MI_BATCH_BUFFER_START dword 0: PPGTT (non-privileged) batch (bit 8). */
export const BB_PPGTT: BitField = bit(8);
/** PIPE_CONTROL dword 1 / MI_FLUSH_DW dword 0: post-sync operation (bits 15:14). */
export const POST_SYNC_OP: BitField = field(15, 14);
/** Post-sync operations: write immediate data, the depth count, the timestamp. */
export const POST_SYNC_WRITE_IMM = 1, POST_SYNC_WRITE_PS_DEPTH = 2, POST_SYNC_WRITE_TIMESTAMP = 3;
/** PIPE_CONTROL dword 1 / MI_FLUSH_DW dword 0: store-data index mode (bit 21). */
export const STORE_INDEX: BitField = bit(21);
/** PIPE_CONTROL dword 1 / MI_FLUSH_DW dword 0: notify interrupt (bit 8). */
export const NOTIFY: BitField = bit(8);
/** PIPE_CONTROL dword 1: the post-sync write goes to the register in dword 2 (bit 23). */
export const PIPE_CONTROL_MMIO_WRITE_BIT: BitField = bit(23);
/** PIPE_CONTROL dword 1: the destination is a global-GTT address (bit 24). */
export const PIPE_CONTROL_GLOBAL_GTT: BitField = bit(24);
/** MI_FLUSH_DW address dword: the address is a global-GTT address (bit 2). */
export const FLUSH_DW_USE_GTT: BitField = bit(2);
/** MI_DISPLAY_FLIP dword 0: plane (bits 21:19; 0, 1, 4 = primary A, B, C). */
export const DISPLAY_FLIP_PLANE: BitField = field(21, 19);
/** MI_STORE_DATA_INDEX dword 1: byte offset in the status page (bits 11:2). */
export const STORE_INDEX_OFFSET: BitField = field(11, 2);
/** MI_UPDATE_GTT dword 1: first GGTT entry, as a byte offset into the GTT (entries of 8). */
export const UPDATE_GTT_OFFSET: BitField = field(31, 3);

/** PIPE_CONTROL dword 1: command-streamer stall (bit 20). */
export const PIPE_CONTROL_CS_STALL: BitField = bit(20);
/** PIPE_CONTROL dword 1: render-target cache flush (bit 12). */
export const PIPE_CONTROL_RENDER_TARGET_CACHE_FLUSH: BitField = bit(12);
/** PIPE_CONTROL dword 1: data-port (DC) flush (bit 5). */
export const PIPE_CONTROL_DC_FLUSH_ENABLE: BitField = bit(5);
/** PIPE_CONTROL dword 1: depth cache flush (bit 0). */
export const PIPE_CONTROL_DEPTH_CACHE_FLUSH: BitField = bit(0);
/** MI_FLUSH_DW dword 0: invalidate the TLBs (bit 18). */
export const FLUSH_DW_INVALIDATE_TLB: BitField = bit(18);
/** MI_STORE_DATA_IMM dword 0: store a qword (bit 21, five dwords). */
export const SDI_QWORD: BitField = bit(21);
/** MI_STORE_DATA_IMM dword 1: core-select (bit 0: the address is offset by the data size). */
export const SDI_CORE: BitField = bit(0);
/** MI_ATOMIC dword 0: the operation (bits 15:8). */
export const ATOMIC_OPCODE: BitField = field(15, 8);
/** MI_ATOMIC dword 0: data size (bits 20:19: dword, qword, octword) and inline data (bit 18). */
export const ATOMIC_SIZE: BitField = field(20, 19), ATOMIC_INLINE: BitField = bit(18);
/** MI_SEMAPHORE_WAIT dword 0: polling mode (bit 15). */
export const SEMAPHORE_POLL: BitField = bit(15);
/** MI_CONDITIONAL_BATCH_BUFFER_END dword 0: compare against semaphore data (bit 21). */
export const COND_BB_END_COMPARE_SEMAPHORE: BitField = bit(21);
/** MI_REPORT_PERF_COUNT dword 1: the address is a global-GTT address (bit 0). */
export const REPORT_PERF_USE_GGTT: BitField = bit(0);
/** MI_ARB_ON_OFF dword 0: arbitration enabled (bit 0). */
export const ARB_ENABLE: BitField = bit(0);
/** PIPELINE_SELECT dword 0: write-enable mask of the pipeline field (bits 9:8, gen9). */
export const PIPELINE_SELECT_MASK: BitField = field(9, 8);
/** PIPELINE_SELECT dword 0: the pipeline (bits 1:0: 3D, media, GPGPU). */
export const PIPELINE_SELECT_PIPELINE: BitField = field(1, 0);
/** XY blits dword 0: write the alpha channel (bit 21) and the RGB channels (bit 20). */
export const XY_BLT_WRITE_ALPHA: BitField = bit(21), XY_BLT_WRITE_RGB: BitField = bit(20);
/** MEDIA_OBJECT dword 1: interface descriptor offset (bits 5:0). */
export const MEDIA_INTERFACE_DESCRIPTOR: BitField = field(5, 0);
/** MEDIA_OBJECT_WALKER global resolution dword: x (bits 9:0) and y (bits 25:16). */
export const WALKER_RES_X: BitField = field(9, 0), WALKER_RES_Y: BitField = field(25, 16);

/**
 * The graphics address in `buf[at]` (low dword, the bits of `low`) and `buf[at + 1]` (bits
 * 47:32): `cmd_gma` / `cmd_gma_hi`.
 */
export function cmdAddress(buf: ArrayLike<number>, at: number, low: BitField = CMD_GMA): number {
  return join64(buf[at] & low.mask, getField(buf[at + 1], CMD_GMA_HI));
}

/**
 * Writes address `gma` into `out[at]` (the bits of `low`, ORed with `flags`) and `out[at + 1]`
 * (bits 47:32).
 */
export function putCmdAddress(
  out: Uint32Array,
  at: number,
  gma: number,
  low: BitField = CMD_GMA,
  flags = 0,
): void {
  out[at] = (lo32(gma) & low.mask | flags) >>> 0;
  out[at + 1] = getField(hi32(gma), CMD_GMA_HI);
}

/** The register a register dword names (`cmd_reg`): a byte offset in MMIO. */
export function cmdReg(dword: number): number {
  return getField(dword, CMD_REG) * 4;
}

/**
 * Gen8 MI_DISPLAY_FLIP plane codes (cmd_parser.c `gen8_decode_mi_display_flip`,
 * `gen8_plane_code`): the pipe of each code and whether it flips the primary plane.
 */
export const FLIP_PLANE_CODES: readonly { readonly pipe: number; readonly primary: boolean }[] = [
  { pipe: 0, primary: true },
  { pipe: 1, primary: true },
  { pipe: 0, primary: false },
  { pipe: 1, primary: false },
  { pipe: 2, primary: true },
  { pipe: 2, primary: false },
];

/** The pipe whose primary plane MI_DISPLAY_FLIP dword 0 `dw0` flips, or -1 (a sprite, bad code). */
export function flipPrimaryPipe(dw0: number): number {
  const c = FLIP_PLANE_CODES[getField(dw0, DISPLAY_FLIP_PLANE)];
  return c !== undefined && c.primary ? c.pipe : -1;
}

/** The surface address in MI_DISPLAY_FLIP dword 2 (page aligned). */
export function flipSurface(dw2: number): number {
  return (dw2 & CMD_GMA_PAGE.mask) >>> 0;
}

/** Blit rectangle corner dwords: x (bits 15:0) and y (bits 31:16). */
export const BLT_X: BitField = field(15, 0), BLT_Y: BitField = field(31, 16);
/** Blit BR13: pitch (bits 15:0), raster operation (23:16), colour depth (25:24). */
export const BR13_PITCH: BitField = field(15, 0),
  BR13_ROP: BitField = field(23, 16),
  BR13_DEPTH: BitField = field(25, 24);

/** A blit corner dword for (x, y). */
export function bltCorner(x: number, y: number): number {
  return (fieldValue(BLT_Y, y) | fieldValue(BLT_X, x)) >>> 0;
}

/** Bytes per pixel of a blit (BR13 colour depth: 0 8 bpp, 1-2 16 bpp, 3 32 bpp). */
export function bltBytesPerPixel(br13: number): number {
  const depth = getField(br13, BR13_DEPTH);
  return depth === 3 ? 4 : depth === 0 ? 1 : 2;
}
