/**
 * THE command table: one definition per GPU command, shared by the guest encoder, the
 * mediator's scanner and the GPU's command streamer. Data after i915 gvt `cmd_parser.c`
 * (`cmd_info[]`, the `OP_*` macros and `get_opcode`/`get_cmd_length`):
 *
 * - command type = dw0[31:29] (`CMD_TYPE`): 0 MI, 2 2D (blitter), 3 3D/media (render), MFX
 *   (video), VEBOX (video enhancement);
 * - opcode = dw0 >> (32 - width), width 9 (MI), 10 (2D), 16 (3D/media/MFX/VEBOX), so the
 *   opcode values below are exactly the kernel's `OP_*` constants;
 * - length = `len` dwords when `F_LEN_CONST`, else the low `len` bits of dw0 + 2.
 *
 * The bit positions of these and of every other command field live in core/cmd/fields.ts.
 *
 * Addresses: gen8+ commands carry 64-bit graphics addresses (two dwords); `addr` lists the
 * dword index of the low half. `ggttDw`/`ggttMask` locate the bit that selects the global
 * GTT (MI_USE_GGTT, PIPE_CONTROL_GLOBAL_GTT_IVB, MI_FLUSH_DW_USE_GTT, ...); commands without
 * one use the address space of the buffer they execute from.
 *
 * Hot paths use {@link decode} (one typed-array lookup) and {@link cmdLength}; per-entry
 * data is also available as parallel typed arrays in {@link CMD}.
 */

import type { EngineName } from "../scenario.ts";
import { type BitField, fieldValue, getField } from "../hw/bits.ts";
import {
  DECODE_KEY,
  FLUSH_DW_USE_GTT,
  lengthField,
  MI_USE_GGTT_BIT,
  OP2D_OPCODE,
  OP2D_TYPE,
  OP3D_OPCODE,
  OP3D_SUBOPCODE,
  OP3D_SUBTYPE,
  OP3D_TYPE,
  opcodeField,
  OPMFX_SUBOPA,
  OPMFX_SUBOPB,
  PIPE_CONTROL_GLOBAL_GTT,
  PIPE_CONTROL_MMIO_WRITE_BIT,
  POST_SYNC_OP,
  REPORT_PERF_USE_GGTT,
} from "./fields.ts";

/** Command type MI (dw0[31:29] = 0). */
export const CMD_TYPE_MI = 0;
/** Command type 2D / blitter (2). */
export const CMD_TYPE_2D = 2;
/** Command type 3D / media / MFX / VEBOX (3). */
export const CMD_TYPE_3D_MEDIA = 3;

/** Engine bit: render. */
export const R_RCS = 1 << 0;
/** Engine bit: blitter. */
export const R_BCS = 1 << 1;
/** Engine bit: video. */
export const R_VCS = 1 << 2;
/** Engine bit: video enhancement. */
export const R_VECS = 1 << 3;
/** All engines. */
export const R_ALL = R_RCS | R_BCS | R_VCS | R_VECS;

/** Flag: constant length (`len` is the length in dwords). */
export const F_LEN_CONST = 1 << 0;
/** Flag: variable length field but only one valid value (`validLen`). */
export const F_LEN_VAR_FIXED = 1 << 1;
/** Flag: the command changes the instruction pointer itself (batch start/end). */
export const F_IP_ADVANCE_CUSTOM = 1 << 2;
/** Flag: the GVT-g scanner always rejects this command. */
export const F_SCAN_REJECT = 1 << 3;
/** Flag: writes registers (LRI/LRR/LRM; audited against the whitelist). */
export const F_REG_WRITE = 1 << 4;
/** Flag: writes memory at a graphics address (audited against the slices). */
export const F_MEM_WRITE = 1 << 5;

/** Command kinds (for counters and cost classes). */
export const KIND_CONTROL = 0,
  KIND_STATE = 1,
  KIND_DRAW = 2,
  KIND_BLIT = 3,
  KIND_MEDIA = 4,
  KIND_COMPUTE = 5,
  KIND_STORE = 6,
  KIND_LRI = 7,
  KIND_FLUSH = 8,
  KIND_VIDEO = 9,
  KIND_DISPLAY = 10;
/** Number of command kinds. */
export const NUM_KINDS = 11;
/** Kind names, indexed by kind. */
export const KIND_NAMES: readonly string[] = [
  "control",
  "state",
  "draw",
  "blit",
  "media",
  "compute",
  "store",
  "lri",
  "flush",
  "video",
  "display",
];

/** What the command streamer does with a command (time is always charged). */
export const X_NONE = 0,
  X_BB_START = 1,
  X_BB_END = 2,
  X_LRI = 3,
  X_SDI = 4,
  X_SRM = 5,
  X_LRM = 6,
  X_LRR = 7,
  X_FLUSH_DW = 8,
  X_PIPE_CONTROL = 9,
  X_USER_INTERRUPT = 10,
  X_DISPLAY_FLIP = 11,
  X_BLT_COPY = 12,
  X_BLT_FILL = 13,
  X_STORE_INDEX = 14,
  X_UPDATE_GTT = 15,
  X_COND_BB_END = 16,
  X_REPORT_PERF = 17,
  X_SEMAPHORE_WAIT = 18,
  X_ATOMIC = 19;

/** One command definition. */
export interface CmdInfo {
  /** i915 name, e.g. "MI_STORE_DATA_IMM". */
  readonly name: string;
  /** Command type (dw0[31:29]). */
  readonly type: number;
  /** Opcode as cmd_parser.c's OP_* value (dw0 >> (32 - width)). */
  readonly opcode: number;
  /** Opcode width in bits: 9 (MI), 10 (2D), 16 (3D/media). */
  readonly opWidth: number;
  /** Where the opcode sits in dw0 (core/cmd/fields.ts OPCODE_*). */
  readonly opField: BitField;
  /** F_* flags. */
  readonly flags: number;
  /** Engines (R_* bits). */
  readonly rings: number;
  /** F_LEN_CONST: length in dwords; else: number of low dw0 bits holding length - 2. */
  readonly len: number;
  /** For F_LEN_VAR_FIXED: the only valid length (dwords); 0 otherwise. */
  readonly validLen: number;
  /** Dword indexes of (low halves of) graphics addresses. */
  readonly addr: readonly number[];
  /** Dword holding the use-global-GTT bit, or -1. */
  readonly ggttDw: number;
  /** Mask of the use-global-GTT bit in `ggttDw`. */
  readonly ggttMask: number;
  /** Register-write field: dword index of the (first) register offset, or -1. */
  readonly regDw: number;
  /** The register write happens only when dw[regCondDw] & regCondMask (-1: always). */
  readonly regCondDw: number;
  /** Mask for {@link CmdInfo.regCondDw}. */
  readonly regCondMask: number;
  /** The address fields are used only when dw[addrCondDw] & addrCondMask (-1: always). */
  readonly addrCondDw: number;
  /** Mask for {@link CmdInfo.addrCondDw} (e.g. a post-sync operation field). */
  readonly addrCondMask: number;
  /** Kind (KIND_*). */
  readonly kind: number;
  /** Execution action (X_*). */
  readonly exec: number;
  /** Default cost in ns. */
  readonly cost: number;
}

const MI_USE_GGTT = MI_USE_GGTT_BIT.mask;
const PIPE_CONTROL_GLOBAL_GTT_IVB = PIPE_CONTROL_GLOBAL_GTT.mask;
const PIPE_CONTROL_MMIO_WRITE = PIPE_CONTROL_MMIO_WRITE_BIT.mask;
const POST_SYNC_OP_MASK = POST_SYNC_OP.mask;
const MI_FLUSH_DW_USE_GTT = FLUSH_DW_USE_GTT.mask;

type Spec = [
  name: string,
  type: number,
  opcode: number,
  flags: number,
  rings: number,
  len: number,
  kind: number,
  exec: number,
  cost: number,
  extra?: {
    addr?: number[];
    ggttDw?: number;
    ggttMask?: number;
    regDw?: number;
    regCondDw?: number;
    regCondMask?: number;
    addrCondDw?: number;
    addrCondMask?: number;
    validLen?: number;
  },
];

/** OP_3D_MEDIA(sub_type, opcode, sub_opcode). */
export function op3dMedia(subType: number, opcode: number, subOpcode: number): number {
  return fieldValue(OP3D_TYPE, CMD_TYPE_3D_MEDIA) | fieldValue(OP3D_SUBTYPE, subType) |
    fieldValue(OP3D_OPCODE, opcode) | fieldValue(OP3D_SUBOPCODE, subOpcode);
}
/** OP_MFX(pipeline, op, sub_opa, sub_opb) (also OP_VEB). */
export function opMfx(pipeline: number, op: number, subA: number, subB: number): number {
  return fieldValue(OP3D_TYPE, CMD_TYPE_3D_MEDIA) | fieldValue(OP3D_SUBTYPE, pipeline) |
    fieldValue(OP3D_OPCODE, op) | fieldValue(OPMFX_SUBOPA, subA) | fieldValue(OPMFX_SUBOPB, subB);
}
/** OP_2D(x). */
export function op2d(x: number): number {
  return fieldValue(OP2D_TYPE, CMD_TYPE_2D) | fieldValue(OP2D_OPCODE, x);
}

const MI = CMD_TYPE_MI, D2 = CMD_TYPE_2D, D3 = CMD_TYPE_3D_MEDIA;
const C = F_LEN_CONST, VF = F_LEN_VAR_FIXED, REJ = F_SCAN_REJECT;
const S = KIND_STATE;

function mi(
  name: string,
  op: number,
  flags: number,
  rings: number,
  len: number,
  kind = KIND_CONTROL,
  exec = X_NONE,
  cost = 10,
  extra?: Spec[9],
): Spec {
  return [name, MI, op, flags, rings, len, kind, exec, cost, extra];
}
function r3d(name: string, op: number, cost = 20, kind = S, exec = X_NONE, len = 8): Spec {
  return [name, D3, op, 0, R_RCS, len, kind, exec, cost];
}
function blt(name: string, x: number, addr: number[], exec = X_NONE, cost = 800): Spec {
  return [name, D2, op2d(x), 0, R_BCS, 8, KIND_BLIT, exec, cost, { addr }];
}
function vcs(name: string, op: number, cost = 50, kind = S): Spec {
  return [name, D3, op, 0, R_VCS, 12, kind, X_NONE, cost];
}

const SPECS: Spec[] = [
  // ---- MI (type 0, opcode dw0[28:23]) ----
  mi("MI_NOOP", 0x00, C, R_ALL, 1, KIND_CONTROL, X_NONE, 2),
  mi("MI_SET_PREDICATE", 0x01, C, R_ALL, 1),
  mi("MI_USER_INTERRUPT", 0x02, C, R_ALL, 1, KIND_CONTROL, X_USER_INTERRUPT, 10),
  mi("MI_WAIT_FOR_EVENT", 0x03, C, R_RCS | R_BCS, 1),
  mi("MI_FLUSH", 0x04, C, R_ALL, 1, KIND_FLUSH, X_NONE, 100),
  mi("MI_ARB_CHECK", 0x05, C, R_ALL, 1, KIND_CONTROL, X_NONE, 2),
  mi("MI_RS_CONTROL", 0x06, C, R_RCS, 1),
  mi("MI_REPORT_HEAD", 0x07, C, R_ALL, 1),
  mi("MI_ARB_ON_OFF", 0x08, C, R_ALL, 1, KIND_CONTROL, X_NONE, 2),
  mi("MI_URB_ATOMIC_ALLOC", 0x09, C, R_RCS, 1),
  mi("MI_BATCH_BUFFER_END", 0x0a, C | F_IP_ADVANCE_CUSTOM, R_ALL, 1, KIND_CONTROL, X_BB_END, 10),
  mi("MI_SUSPEND_FLUSH", 0x0b, C, R_ALL, 1),
  mi("MI_PREDICATE", 0x0c, C, R_RCS, 1),
  mi("MI_TOPOLOGY_FILTER", 0x0d, C, R_ALL, 1),
  mi("MI_SET_APPID", 0x0e, C, R_ALL, 1),
  mi("MI_RS_CONTEXT", 0x0f, C, R_RCS, 1),
  mi("MI_LOAD_SCAN_LINES_INCL", 0x12, C, R_RCS | R_BCS, 2, KIND_DISPLAY),
  mi("MI_DISPLAY_FLIP", 0x14, 0, R_RCS | R_BCS, 8, KIND_DISPLAY, X_DISPLAY_FLIP, 100, {
    addr: [2],
  }),
  mi("MI_SEMAPHORE_MBOX", 0x16, VF, R_ALL, 8, KIND_CONTROL, X_NONE, 20, { validLen: 3 }),
  mi("MI_URB_CLEAR", 0x19, VF, R_RCS, 8, KIND_CONTROL, X_NONE, 20, { validLen: 2 }),
  mi("MI_MATH", 0x1a, 0, R_ALL, 8, KIND_CONTROL, X_NONE, 20),
  mi("MI_SEMAPHORE_SIGNAL", 0x1b, VF, R_ALL, 8, KIND_CONTROL, X_NONE, 20, { validLen: 2 }),
  mi("MI_SEMAPHORE_WAIT", 0x1c, VF | REJ, R_ALL, 8, KIND_CONTROL, X_SEMAPHORE_WAIT, 50, {
    addr: [2],
    ggttDw: 0,
    ggttMask: MI_USE_GGTT,
    validLen: 4,
  }),
  mi("MI_STORE_DATA_IMM", 0x20, F_MEM_WRITE, R_ALL, 10, KIND_STORE, X_SDI, 40, {
    addr: [1],
    ggttDw: 0,
    ggttMask: MI_USE_GGTT,
  }),
  mi("MI_STORE_DATA_INDEX", 0x21, REJ | F_MEM_WRITE, R_ALL, 8, KIND_STORE, X_STORE_INDEX, 40),
  mi("MI_LOAD_REGISTER_IMM", 0x22, F_REG_WRITE, R_ALL, 8, KIND_LRI, X_LRI, 40, { regDw: 1 }),
  mi("MI_UPDATE_GTT", 0x23, REJ, R_ALL, 10, KIND_CONTROL, X_UPDATE_GTT, 100),
  mi("MI_STORE_REGISTER_MEM", 0x24, VF | F_MEM_WRITE, R_ALL, 8, KIND_STORE, X_SRM, 60, {
    addr: [2],
    ggttDw: 0,
    ggttMask: MI_USE_GGTT,
    regDw: 1,
    validLen: 4,
  }),
  mi("MI_FLUSH_DW", 0x26, F_MEM_WRITE, R_ALL, 6, KIND_FLUSH, X_FLUSH_DW, 300, {
    addr: [1],
    ggttDw: 1,
    ggttMask: MI_FLUSH_DW_USE_GTT,
    addrCondDw: 0,
    addrCondMask: POST_SYNC_OP_MASK,
  }),
  mi("MI_CLFLUSH", 0x27, REJ, R_ALL, 10, KIND_FLUSH, X_NONE, 200, {
    addr: [1],
    ggttDw: 0,
    ggttMask: MI_USE_GGTT,
  }),
  mi(
    "MI_REPORT_PERF_COUNT",
    0x28,
    VF | REJ | F_MEM_WRITE,
    R_ALL,
    6,
    KIND_STORE,
    X_REPORT_PERF,
    60,
    {
      addr: [1],
      ggttDw: 1,
      ggttMask: REPORT_PERF_USE_GGTT.mask,
      validLen: 4,
    },
  ),
  mi("MI_LOAD_REGISTER_MEM", 0x29, VF | F_REG_WRITE, R_ALL, 8, KIND_LRI, X_LRM, 80, {
    addr: [2],
    ggttDw: 0,
    ggttMask: MI_USE_GGTT,
    regDw: 1,
    validLen: 4,
  }),
  mi("MI_LOAD_REGISTER_REG", 0x2a, VF | F_REG_WRITE, R_ALL, 8, KIND_LRI, X_LRR, 40, {
    regDw: 2,
    validLen: 3,
  }),
  mi("MI_RS_STORE_DATA_IMM", 0x2b, VF, R_RCS, 8, KIND_STORE, X_NONE, 40, { validLen: 4 }),
  mi("MI_LOAD_URB_MEM", 0x2c, VF, R_RCS, 8, KIND_CONTROL, X_NONE, 60, {
    addr: [2],
    validLen: 4,
  }),
  mi("MI_STORE_URM_MEM", 0x2d, 0, R_RCS, 8, KIND_CONTROL, X_NONE, 60, { addr: [2] }),
  // MI_MEM_TO_MEM: always rejected (cmd_parser.c cmd_handler_mi_op_2e).
  mi("MI_OP_2E", 0x2e, VF | REJ, R_ALL, 8, KIND_CONTROL, X_NONE, 60, {
    addr: [1, 3],
    validLen: 5,
  }),
  // MI_ATOMIC: its address is audited when it uses the GGTT (cmd_handler_mi_op_2f).
  mi("MI_OP_2F", 0x2f, F_MEM_WRITE, R_ALL, 8, KIND_STORE, X_ATOMIC, 60, {
    addr: [1],
    ggttDw: 0,
    ggttMask: MI_USE_GGTT,
  }),
  mi("MI_BATCH_BUFFER_START", 0x31, F_IP_ADVANCE_CUSTOM, R_ALL, 8, KIND_CONTROL, X_BB_START, 50, {
    addr: [1],
  }),
  mi("MI_CONDITIONAL_BATCH_BUFFER_END", 0x36, VF | REJ, R_ALL, 8, KIND_CONTROL, X_COND_BB_END, 50, {
    addr: [2],
    ggttDw: 0,
    ggttMask: MI_USE_GGTT,
    validLen: 4,
  }),

  // ---- 2D (type 2, opcode dw0[28:22]) ----
  blt("XY_SETUP_BLT", 0x01, [4, 8], X_NONE, 40),
  blt("XY_SETUP_CLIP_BLT", 0x03, [], X_NONE, 20),
  blt("XY_SETUP_MONO_PATTERN_SL_BLT", 0x11, [4], X_NONE, 40),
  blt("XY_PIXEL_BLT", 0x24, []),
  blt("XY_SCANLINES_BLT", 0x25, []),
  blt("XY_TEXT_BLT", 0x26, [3]),
  blt("XY_TEXT_IMMEDIATE_BLT", 0x31, []),
  blt("XY_COLOR_BLT", 0x50, [4], X_BLT_FILL, 500),
  blt("XY_PAT_BLT", 0x51, [4, 6]),
  blt("XY_MONO_PAT_BLT", 0x52, [4]),
  blt("XY_SRC_COPY_BLT", 0x53, [4, 8], X_BLT_COPY, 800),
  blt("XY_MONO_SRC_COPY_BLT", 0x54, [4, 6]),
  blt("XY_FULL_BLT", 0x55, []),
  blt("XY_FULL_MONO_SRC_BLT", 0x56, [4, 6, 10]),
  blt("XY_FULL_MONO_PATTERN_BLT", 0x57, [4, 8]),
  blt("XY_FULL_MONO_PATTERN_MONO_SRC_BLT", 0x58, [4, 6]),
  blt("XY_MONO_PAT_FIXED_BLT", 0x59, [4]),
  blt("XY_MONO_SRC_COPY_IMMEDIATE_BLT", 0x71, [4]),
  blt("XY_PAT_BLT_IMMEDIATE", 0x72, [4]),
  blt("XY_SRC_COPY_CHROMA_BLT", 0x73, [4, 8]),
  blt("XY_FULL_IMMEDIATE_PATTERN_BLT", 0x74, [4, 8]),
  blt("XY_FULL_MONO_SRC_IMMEDIATE_PATTERN_BLT", 0x75, [4, 6]),
  blt("XY_PAT_CHROMA_BLT", 0x76, [4, 6]),
  blt("XY_PAT_CHROMA_BLT_IMMEDIATE", 0x77, [4]),

  // ---- 3D / media (type 3, render) ----
  [
    "PIPELINE_SELECT",
    D3,
    op3dMedia(0x1, 0x1, 0x04),
    C,
    R_RCS,
    1,
    S,
    X_NONE,
    200,
  ],
  r3d("STATE_PREFETCH", op3dMedia(0x0, 0x0, 0x03)),
  r3d("STATE_BASE_ADDRESS", op3dMedia(0x0, 0x1, 0x01), 200),
  r3d("STATE_SIP", op3dMedia(0x0, 0x1, 0x02)),
  r3d("3DSTATE_VF_STATISTICS", op3dMedia(0x1, 0x0, 0x0b), 20, S, X_NONE, 1),
  r3d("3DSTATE_CLEAR_PARAMS", op3dMedia(0x3, 0x0, 0x04)),
  r3d("3DSTATE_DEPTH_BUFFER", op3dMedia(0x3, 0x0, 0x05)),
  r3d("3DSTATE_STENCIL_BUFFER", op3dMedia(0x3, 0x0, 0x06)),
  r3d("3DSTATE_HIER_DEPTH_BUFFER", op3dMedia(0x3, 0x0, 0x07)),
  r3d("3DSTATE_VERTEX_BUFFERS", op3dMedia(0x3, 0x0, 0x08)),
  r3d("3DSTATE_VERTEX_ELEMENTS", op3dMedia(0x3, 0x0, 0x09)),
  r3d("3DSTATE_INDEX_BUFFER", op3dMedia(0x3, 0x0, 0x0a)),
  r3d("3DSTATE_VF", op3dMedia(0x3, 0x0, 0x0c)),
  r3d("3DSTATE_MULTISAMPLE", op3dMedia(0x3, 0x0, 0x0d)),
  r3d("3DSTATE_CC_STATE_POINTERS", op3dMedia(0x3, 0x0, 0x0e)),
  r3d("3DSTATE_SCISSOR_STATE_POINTERS", op3dMedia(0x3, 0x0, 0x0f)),
  r3d("3DSTATE_VS", op3dMedia(0x3, 0x0, 0x10)),
  r3d("3DSTATE_GS", op3dMedia(0x3, 0x0, 0x11)),
  r3d("3DSTATE_CLIP", op3dMedia(0x3, 0x0, 0x12)),
  r3d("3DSTATE_SF", op3dMedia(0x3, 0x0, 0x13)),
  r3d("3DSTATE_WM", op3dMedia(0x3, 0x0, 0x14)),
  r3d("3DSTATE_CONSTANT_VS", op3dMedia(0x3, 0x0, 0x15)),
  r3d("3DSTATE_CONSTANT_GS", op3dMedia(0x3, 0x0, 0x16)),
  r3d("3DSTATE_CONSTANT_PS", op3dMedia(0x3, 0x0, 0x17)),
  r3d("3DSTATE_SAMPLE_MASK", op3dMedia(0x3, 0x0, 0x18)),
  r3d("3DSTATE_CONSTANT_HS", op3dMedia(0x3, 0x0, 0x19)),
  r3d("3DSTATE_CONSTANT_DS", op3dMedia(0x3, 0x0, 0x1a)),
  r3d("3DSTATE_HS", op3dMedia(0x3, 0x0, 0x1b)),
  r3d("3DSTATE_TE", op3dMedia(0x3, 0x0, 0x1c)),
  r3d("3DSTATE_DS", op3dMedia(0x3, 0x0, 0x1d)),
  r3d("3DSTATE_STREAMOUT", op3dMedia(0x3, 0x0, 0x1e)),
  r3d("3DSTATE_SBE", op3dMedia(0x3, 0x0, 0x1f)),
  r3d("3DSTATE_PS", op3dMedia(0x3, 0x0, 0x20)),
  r3d("3DSTATE_VIEWPORT_STATE_POINTERS_SF_CLIP", op3dMedia(0x3, 0x0, 0x21)),
  r3d("3DSTATE_VIEWPORT_STATE_POINTERS_CC", op3dMedia(0x3, 0x0, 0x23)),
  r3d("3DSTATE_BLEND_STATE_POINTERS", op3dMedia(0x3, 0x0, 0x24)),
  r3d("3DSTATE_DEPTH_STENCIL_STATE_POINTERS", op3dMedia(0x3, 0x0, 0x25)),
  r3d("3DSTATE_BINDING_TABLE_POINTERS_VS", op3dMedia(0x3, 0x0, 0x26)),
  r3d("3DSTATE_BINDING_TABLE_POINTERS_HS", op3dMedia(0x3, 0x0, 0x27)),
  r3d("3DSTATE_BINDING_TABLE_POINTERS_DS", op3dMedia(0x3, 0x0, 0x28)),
  r3d("3DSTATE_BINDING_TABLE_POINTERS_GS", op3dMedia(0x3, 0x0, 0x29)),
  r3d("3DSTATE_BINDING_TABLE_POINTERS_PS", op3dMedia(0x3, 0x0, 0x2a)),
  r3d("3DSTATE_SAMPLER_STATE_POINTERS_VS", op3dMedia(0x3, 0x0, 0x2b)),
  r3d("3DSTATE_SAMPLER_STATE_POINTERS_HS", op3dMedia(0x3, 0x0, 0x2c)),
  r3d("3DSTATE_SAMPLER_STATE_POINTERS_DS", op3dMedia(0x3, 0x0, 0x2d)),
  r3d("3DSTATE_SAMPLER_STATE_POINTERS_GS", op3dMedia(0x3, 0x0, 0x2e)),
  r3d("3DSTATE_SAMPLER_STATE_POINTERS_PS", op3dMedia(0x3, 0x0, 0x2f)),
  r3d("3DSTATE_URB_VS", op3dMedia(0x3, 0x0, 0x30)),
  r3d("3DSTATE_URB_HS", op3dMedia(0x3, 0x0, 0x31)),
  r3d("3DSTATE_URB_DS", op3dMedia(0x3, 0x0, 0x32)),
  r3d("3DSTATE_URB_GS", op3dMedia(0x3, 0x0, 0x33)),
  r3d("3DSTATE_GATHER_CONSTANT_VS", op3dMedia(0x3, 0x0, 0x34)),
  r3d("3DSTATE_GATHER_CONSTANT_GS", op3dMedia(0x3, 0x0, 0x35)),
  r3d("3DSTATE_GATHER_CONSTANT_HS", op3dMedia(0x3, 0x0, 0x36)),
  r3d("3DSTATE_GATHER_CONSTANT_DS", op3dMedia(0x3, 0x0, 0x37)),
  r3d("3DSTATE_GATHER_CONSTANT_PS", op3dMedia(0x3, 0x0, 0x38)),
  r3d("3DSTATE_BINDING_TABLE_EDIT_VS", op3dMedia(0x3, 0x0, 0x43), 20, S, X_NONE, 9),
  r3d("3DSTATE_BINDING_TABLE_EDIT_GS", op3dMedia(0x3, 0x0, 0x44), 20, S, X_NONE, 9),
  r3d("3DSTATE_BINDING_TABLE_EDIT_HS", op3dMedia(0x3, 0x0, 0x45), 20, S, X_NONE, 9),
  r3d("3DSTATE_BINDING_TABLE_EDIT_DS", op3dMedia(0x3, 0x0, 0x46), 20, S, X_NONE, 9),
  r3d("3DSTATE_BINDING_TABLE_EDIT_PS", op3dMedia(0x3, 0x0, 0x47), 20, S, X_NONE, 9),
  r3d("3DSTATE_VF_INSTANCING", op3dMedia(0x3, 0x0, 0x49)),
  r3d("3DSTATE_VF_SGVS", op3dMedia(0x3, 0x0, 0x4a)),
  r3d("3DSTATE_VF_TOPOLOGY", op3dMedia(0x3, 0x0, 0x4b)),
  r3d("3DSTATE_WM_CHROMAKEY", op3dMedia(0x3, 0x0, 0x4c)),
  r3d("3DSTATE_PS_BLEND", op3dMedia(0x3, 0x0, 0x4d)),
  r3d("3DSTATE_WM_DEPTH_STENCIL", op3dMedia(0x3, 0x0, 0x4e)),
  r3d("3DSTATE_PS_EXTRA", op3dMedia(0x3, 0x0, 0x4f)),
  r3d("3DSTATE_RASTER", op3dMedia(0x3, 0x0, 0x50)),
  r3d("3DSTATE_SBE_SWIZ", op3dMedia(0x3, 0x0, 0x51)),
  r3d("3DSTATE_WM_HZ_OP", op3dMedia(0x3, 0x0, 0x52)),
  r3d("3DSTATE_COMPONENT_PACKING", op3dMedia(0x3, 0x0, 0x55)),
  r3d("3DSTATE_DRAWING_RECTANGLE", op3dMedia(0x3, 0x1, 0x00)),
  r3d("3DSTATE_SAMPLER_PALETTE_LOAD0", op3dMedia(0x3, 0x1, 0x02)),
  r3d("3DSTATE_CHROMA_KEY", op3dMedia(0x3, 0x1, 0x04)),
  r3d("3DSTATE_POLY_STIPPLE_OFFSET", op3dMedia(0x3, 0x1, 0x06)),
  r3d("3DSTATE_POLY_STIPPLE_PATTERN", op3dMedia(0x3, 0x1, 0x07)),
  r3d("3DSTATE_LINE_STIPPLE", op3dMedia(0x3, 0x1, 0x08)),
  r3d("3DSTATE_AA_LINE_PARAMS", op3dMedia(0x3, 0x1, 0x0a)),
  r3d("3DSTATE_GS_SVB_INDEX", op3dMedia(0x3, 0x1, 0x0b)),
  r3d("3DSTATE_SAMPLER_PALETTE_LOAD1", op3dMedia(0x3, 0x1, 0x0c)),
  r3d("3DSTATE_MONOFILTER_SIZE", op3dMedia(0x3, 0x1, 0x11)),
  r3d("3DSTATE_PUSH_CONSTANT_ALLOC_VS", op3dMedia(0x3, 0x1, 0x12)),
  r3d("3DSTATE_PUSH_CONSTANT_ALLOC_HS", op3dMedia(0x3, 0x1, 0x13)),
  r3d("3DSTATE_PUSH_CONSTANT_ALLOC_DS", op3dMedia(0x3, 0x1, 0x14)),
  r3d("3DSTATE_PUSH_CONSTANT_ALLOC_GS", op3dMedia(0x3, 0x1, 0x15)),
  r3d("3DSTATE_PUSH_CONSTANT_ALLOC_PS", op3dMedia(0x3, 0x1, 0x16)),
  r3d("3DSTATE_SO_DECL_LIST", op3dMedia(0x3, 0x1, 0x17), 20, S, X_NONE, 9),
  r3d("3DSTATE_SO_BUFFER", op3dMedia(0x3, 0x1, 0x18)),
  r3d("3DSTATE_BINDING_TABLE_POOL_ALLOC", op3dMedia(0x3, 0x1, 0x19)),
  r3d("3DSTATE_GATHER_POOL_ALLOC", op3dMedia(0x3, 0x1, 0x1a)),
  r3d("3DSTATE_DX9_CONSTANT_BUFFER_POOL_ALLOC", op3dMedia(0x3, 0x1, 0x1b)),
  r3d("3DSTATE_SAMPLE_PATTERN", op3dMedia(0x3, 0x1, 0x1c)),
  [
    "PIPE_CONTROL",
    D3,
    op3dMedia(0x3, 0x2, 0x00),
    F_MEM_WRITE,
    R_RCS,
    8,
    KIND_FLUSH,
    X_PIPE_CONTROL,
    400,
    {
      addr: [2],
      ggttDw: 1,
      ggttMask: PIPE_CONTROL_GLOBAL_GTT_IVB,
      addrCondDw: 1,
      addrCondMask: POST_SYNC_OP_MASK,
      regDw: 2,
      regCondDw: 1,
      regCondMask: PIPE_CONTROL_MMIO_WRITE,
    },
  ],
  r3d("3DPRIMITIVE", op3dMedia(0x3, 0x3, 0x00), 20_000, KIND_DRAW),
  r3d("MEDIA_VFE_STATE", op3dMedia(0x2, 0x0, 0x0), 100, S, X_NONE, 16),
  r3d("MEDIA_CURBE_LOAD", op3dMedia(0x2, 0x0, 0x1), 100, S, X_NONE, 16),
  r3d("MEDIA_INTERFACE_DESCRIPTOR_LOAD", op3dMedia(0x2, 0x0, 0x2), 100, S, X_NONE, 16),
  r3d("MEDIA_GATEWAY_STATE", op3dMedia(0x2, 0x0, 0x3), 20, S, X_NONE, 16),
  r3d("MEDIA_STATE_FLUSH", op3dMedia(0x2, 0x0, 0x4), 200, KIND_FLUSH, X_NONE, 16),
  r3d("MEDIA_POOL_STATE", op3dMedia(0x2, 0x0, 0x5), 20, S, X_NONE, 16),
  r3d("MEDIA_OBJECT", op3dMedia(0x2, 0x1, 0x0), 5_000, KIND_MEDIA, X_NONE, 16),
  r3d("MEDIA_OBJECT_PRT", op3dMedia(0x2, 0x1, 0x2), 5_000, KIND_MEDIA, X_NONE, 16),
  r3d("MEDIA_OBJECT_WALKER", op3dMedia(0x2, 0x1, 0x3), 50_000, KIND_MEDIA, X_NONE, 16),
  r3d("GPGPU_WALKER", op3dMedia(0x2, 0x1, 0x5), 80_000, KIND_COMPUTE),

  // ---- MFX (type 3, video engine) ----
  vcs("MFX_PIPE_MODE_SELECT", opMfx(2, 0, 0, 0)),
  vcs("MFX_SURFACE_STATE", opMfx(2, 0, 0, 1)),
  vcs("MFX_PIPE_BUF_ADDR_STATE", opMfx(2, 0, 0, 2)),
  vcs("MFX_IND_OBJ_BASE_ADDR_STATE", opMfx(2, 0, 0, 3)),
  vcs("MFX_BSP_BUF_BASE_ADDR_STATE", opMfx(2, 0, 0, 4)),
  vcs("OP_2_0_0_5", opMfx(2, 0, 0, 5)),
  vcs("MFX_STATE_POINTER", opMfx(2, 0, 0, 6)),
  vcs("MFX_QM_STATE", opMfx(2, 0, 0, 7)),
  vcs("MFX_FQM_STATE", opMfx(2, 0, 0, 8)),
  vcs("MFX_PAK_INSERT_OBJECT", opMfx(2, 0, 2, 8), 2_000, KIND_VIDEO),
  vcs("MFX_STITCH_OBJECT", opMfx(2, 0, 2, 0xa), 2_000, KIND_VIDEO),
  vcs("MFD_IT_OBJECT", opMfx(2, 0, 1, 9), 20_000, KIND_VIDEO),
  [
    "MFX_WAIT",
    D3,
    opMfx(1, 0, 0, 0),
    0,
    R_VCS,
    6,
    KIND_CONTROL,
    X_NONE,
    50,
  ],
  vcs("MFX_AVC_IMG_STATE", opMfx(2, 1, 0, 0)),
  vcs("MFX_AVC_QM_STATE", opMfx(2, 1, 0, 1)),
  vcs("MFX_AVC_DIRECTMODE_STATE", opMfx(2, 1, 0, 2)),
  vcs("MFX_AVC_SLICE_STATE", opMfx(2, 1, 0, 3)),
  vcs("MFX_AVC_REF_IDX_STATE", opMfx(2, 1, 0, 4)),
  vcs("MFX_AVC_WEIGHTOFFSET_STATE", opMfx(2, 1, 0, 5)),
  vcs("MFD_AVC_PICID_STATE", opMfx(2, 1, 1, 5)),
  vcs("MFD_AVC_DPB_STATE", opMfx(2, 1, 1, 6)),
  vcs("MFD_AVC_SLICEADDR", opMfx(2, 1, 1, 7)),
  vcs("MFD_AVC_BSD_OBJECT", opMfx(2, 1, 1, 8), 150_000, KIND_VIDEO),
  vcs("MFC_AVC_PAK_OBJECT", opMfx(2, 1, 2, 9), 200_000, KIND_VIDEO),
  vcs("MFX_VC1_PRED_PIPE_STATE", opMfx(2, 2, 0, 1)),
  vcs("MFX_VC1_DIRECTMODE_STATE", opMfx(2, 2, 0, 2)),
  vcs("MFD_VC1_SHORT_PIC_STATE", opMfx(2, 2, 1, 0)),
  vcs("MFD_VC1_LONG_PIC_STATE", opMfx(2, 2, 1, 1)),
  vcs("MFD_VC1_BSD_OBJECT", opMfx(2, 2, 1, 8), 150_000, KIND_VIDEO),
  vcs("MFX_MPEG2_PIC_STATE", opMfx(2, 3, 0, 0)),
  vcs("MFX_MPEG2_QM_STATE", opMfx(2, 3, 0, 1)),
  vcs("MFD_MPEG2_BSD_OBJECT", opMfx(2, 3, 1, 8), 100_000, KIND_VIDEO),
  vcs("MFC_MPEG2_SLICEGROUP_STATE", opMfx(2, 3, 2, 3)),
  vcs("MFC_MPEG2_PAK_OBJECT", opMfx(2, 3, 2, 9), 150_000, KIND_VIDEO),
  vcs("MFX_2_6_0_0", opMfx(2, 6, 0, 0)),
  vcs("MFX_2_6_0_8", opMfx(2, 6, 0, 8)),
  vcs("MFX_2_6_0_9", opMfx(2, 6, 0, 9)),
  vcs("MFX_JPEG_PIC_STATE", opMfx(2, 7, 0, 0)),
  vcs("MFX_JPEG_HUFF_TABLE_STATE", opMfx(2, 7, 0, 2)),
  vcs("MFD_JPEG_BSD_OBJECT", opMfx(2, 7, 1, 8), 100_000, KIND_VIDEO),

  // ---- VEBOX (type 3, video enhancement engine) ----
  ["VEB_SURFACE_STATE", D3, opMfx(2, 4, 0, 0), 0, R_VECS, 12, S, X_NONE, 50],
  ["VEB_STATE", D3, opMfx(2, 4, 0, 2), 0, R_VECS, 12, S, X_NONE, 50],
  ["VEB_DI_IECP", D3, opMfx(2, 4, 0, 3), 0, R_VECS, 12, KIND_MEDIA, X_NONE, 120_000],
];

function build(s: Spec): CmdInfo {
  const [name, type, opcode, flags, rings, len, kind, exec, cost, extra] = s;
  const opField = opcodeField(type);
  return {
    name,
    type,
    opcode,
    opWidth: opField.width,
    opField,
    flags,
    rings,
    len,
    validLen: extra?.validLen ?? 0,
    addr: extra?.addr ?? [],
    ggttDw: extra?.ggttDw ?? -1,
    ggttMask: extra?.ggttMask ?? 0,
    regDw: extra?.regDw ?? -1,
    regCondDw: extra?.regCondDw ?? -1,
    regCondMask: extra?.regCondMask ?? 0,
    addrCondDw: extra?.addrCondDw ?? -1,
    addrCondMask: extra?.addrCondMask ?? 0,
    kind,
    exec,
    cost,
  };
}

/** All command definitions; an entry's index is its command id. */
export const COMMANDS: readonly CmdInfo[] = SPECS.map(build);

/** Number of commands in the table. */
export const NUM_COMMANDS: number = COMMANDS.length;

const BY_NAME = new Map<string, number>();
COMMANDS.forEach((c, i) => BY_NAME.set(c.name, i));

/** Command id of a name, or -1. */
export function cmdId(name: string): number {
  return BY_NAME.get(name) ?? -1;
}

/** Command id of a name that must exist (throws a RangeError at module set-up otherwise). */
function must(name: string): number {
  const id = cmdId(name);
  if (id < 0) throw new RangeError(`command table lacks ${name}`);
  return id;
}

/** Parallel typed-array view of the table for hot loops. */
export const CMD = {
  /** 1 if length is constant. */
  lenConst: Int32Array.from(COMMANDS, (c) => (c.flags & F_LEN_CONST) ? c.len : 0),
  /** Length mask for variable-length commands. */
  lenMask: Int32Array.from(COMMANDS, (c) => (c.flags & F_LEN_CONST) ? 0 : lengthField(c.len).mask),
  /** Kind per command. */
  kind: Uint8Array.from(COMMANDS, (c) => c.kind),
  /** Execution action per command. */
  exec: Uint8Array.from(COMMANDS, (c) => c.exec),
  /** Flags per command. */
  flags: Int32Array.from(COMMANDS, (c) => c.flags),
  /** Default cost per command (ns). */
  cost: Float64Array.from(COMMANDS, (c) => c.cost),
  /** Valid fixed length (0 = any). */
  validLen: Int32Array.from(COMMANDS, (c) => c.validLen),
};

/** Frequently used command ids. */
export const ID = {
  MI_NOOP: must("MI_NOOP"),
  MI_USER_INTERRUPT: must("MI_USER_INTERRUPT"),
  MI_ARB_CHECK: must("MI_ARB_CHECK"),
  MI_ARB_ON_OFF: must("MI_ARB_ON_OFF"),
  MI_BATCH_BUFFER_END: must("MI_BATCH_BUFFER_END"),
  MI_BATCH_BUFFER_START: must("MI_BATCH_BUFFER_START"),
  MI_LOAD_REGISTER_IMM: must("MI_LOAD_REGISTER_IMM"),
  MI_STORE_DATA_IMM: must("MI_STORE_DATA_IMM"),
  MI_STORE_REGISTER_MEM: must("MI_STORE_REGISTER_MEM"),
  MI_FLUSH_DW: must("MI_FLUSH_DW"),
  MI_DISPLAY_FLIP: must("MI_DISPLAY_FLIP"),
  PIPE_CONTROL: must("PIPE_CONTROL"),
  XY_SRC_COPY_BLT: must("XY_SRC_COPY_BLT"),
  XY_COLOR_BLT: must("XY_COLOR_BLT"),
  "3DPRIMITIVE": must("3DPRIMITIVE"),
  MEDIA_OBJECT: must("MEDIA_OBJECT"),
  MEDIA_OBJECT_WALKER: must("MEDIA_OBJECT_WALKER"),
  GPGPU_WALKER: must("GPGPU_WALKER"),
  MI_UPDATE_GTT: must("MI_UPDATE_GTT"),
  MI_SEMAPHORE_WAIT: must("MI_SEMAPHORE_WAIT"),
  MI_REPORT_PERF_COUNT: must("MI_REPORT_PERF_COUNT"),
  MI_STORE_DATA_INDEX: must("MI_STORE_DATA_INDEX"),
  MI_CLFLUSH: must("MI_CLFLUSH"),
  MI_CONDITIONAL_BATCH_BUFFER_END: must("MI_CONDITIONAL_BATCH_BUFFER_END"),
  MI_LOAD_REGISTER_MEM: must("MI_LOAD_REGISTER_MEM"),
  MI_LOAD_REGISTER_REG: must("MI_LOAD_REGISTER_REG"),
  MI_OP_2E: must("MI_OP_2E"),
  MI_ATOMIC: must("MI_OP_2F"),
} as const;

/** Engine id (0..3) to its R_* bit. */
export const ENGINE_RING_BIT: readonly number[] = [R_RCS, R_BCS, R_VCS, R_VECS];

/** Engine name to engine id. */
export function engineId(name: EngineName): number {
  return name === "rcs" ? 0 : name === "bcs" ? 1 : name === "vcs" ? 2 : 3;
}

// Decode lookup: per engine, indexed by dw0's DECODE_KEY bits; value = command id + 1
// (0 = unknown). An opcode narrower than the key leaves free bits below it: every value of
// them decodes to the same command.
const KEY_SPAN = 1 << DECODE_KEY.width;
// The key's bits as local constants: decode runs once per command in the streamer and the
// scanner.
const KEY_MASK = DECODE_KEY.mask, KEY_SHIFT = DECODE_KEY.lo;
const LUT = new Int16Array(4 * KEY_SPAN);
for (let id = 0; id < COMMANDS.length; id++) {
  const c = COMMANDS[id];
  const key = getField(fieldValue(c.opField, c.opcode), DECODE_KEY);
  const free = 2 ** (DECODE_KEY.width - c.opWidth);
  for (let e = 0; e < 4; e++) {
    if (!(c.rings & ENGINE_RING_BIT[e])) continue;
    LUT.fill(id + 1, e * KEY_SPAN + key, e * KEY_SPAN + key + free);
  }
}

/** Decodes a command header for an engine: the command id, or -1 if unknown there. */
export function decode(dw0: number, engine: number): number {
  return LUT[engine * KEY_SPAN + ((dw0 & KEY_MASK) >>> KEY_SHIFT)] - 1;
}

/** Length in dwords of command `id` whose first dword is `dw0`. */
export function cmdLength(id: number, dw0: number): number {
  const c = CMD.lenConst[id];
  return c !== 0 ? c : (dw0 & CMD.lenMask[id]) + 2;
}

/** Builds dw0 for a command id with the given length in dwords and extra flag bits. */
export function header(id: number, lengthDw: number, flags = 0): number {
  const c = COMMANDS[id];
  const lenBits = (c.flags & F_LEN_CONST) ? 0 : (lengthDw - 2) & CMD.lenMask[id];
  return (fieldValue(c.opField, c.opcode) | flags | lenBits) >>> 0;
}

/**
 * Builds a cost vector (ns per command id) from the defaults and `overrides` (name -> ns).
 * Unknown names are returned in `unknown` so callers can report them.
 */
export function costTable(
  overrides: Record<string, number> = {},
): { cost: Float64Array; unknown: string[] } {
  const cost = Float64Array.from(CMD.cost);
  const unknown: string[] = [];
  for (const name of Object.keys(overrides).sort()) {
    const id = cmdId(name);
    if (id < 0) unknown.push(name);
    else cost[id] = overrides[name];
  }
  return { cost, unknown };
}

/** True if command `c` at `buf[at]` addresses the global GTT (its use-GGTT bit is set). */
export function usesGgtt(c: CmdInfo, buf: ArrayLike<number>, at = 0): boolean {
  return c.ggttDw >= 0 && (buf[at + c.ggttDw] & c.ggttMask) !== 0;
}
