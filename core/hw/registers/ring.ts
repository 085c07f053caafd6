/**
 * Per-engine ring registers, at offsets from each engine's ring base (core/hw/engines.ts);
 * the table is expanded once per engine present, with the engine prefix on each name
 * ("RCS_RING_TAIL").
 *
 * Sources (Linux drivers/gpu/drm/i915/): which rows exist and which commands may write
 * (F_CMD_ACCESS): gvt/handlers.c `init_generic_mmio_info` (RING_TAIL/HEAD/CTL/START/ACTHD,
 * base + 0x28 and + 0x134, RING_MODE, MI_MODE, INSTPM, TIMESTAMP, RING_SYNC_0/1),
 * `init_bdw_mmio_info` (ACTHD_UDW, ELSP, execlist status, CONTEXT_CONTROL at + 0x244, CSB
 * and its pointer, PDPs, HWS_PGA), `init_skl_mmio_info` (CSFE_CHICKEN1 at + 0xd4); CS_GPR is
 * command-accessible on Broxton only (`init_bxt_mmio_info`), so on none of the modelled
 * platforms. Bit fields: gt/intel_engine_regs.h and i915_reg.h (RING_VALID, RING_NR_PAGES,
 * STOP_RING, MODE_IDLE, GFX_RUN_LIST_ENABLE, GFX_PPGTT_ENABLE), gvt/execlist.h
 * (`execlist_status_format`, `execlist_context_status_pointer_format`,
 * `execlist_ctx_descriptor_format`).
 */

import { bit, field } from "../bits.ts";
import { D_ALL, D_SKL_PLUS } from "../platform.ts";
import { type RegRow, SEM_CSB_PTR, SEM_ELSP, SEM_EXECLIST_STATUS, SEM_TIMESTAMP } from "./row.ts";

/** RING_CTL fields. */
export const RING_CTL_FIELDS = {
  /** RING_VALID: the ring is enabled. */
  valid: bit(0),
  /** RING_NR_PAGES: ring size in pages minus one. */
  pages: field(20, 12),
} as const;

/** RING_START fields: the ring's page-aligned graphics address. */
export const RING_START_FIELDS = {
  /** Address bits 31:12. */
  address: field(31, 12),
} as const;

/** RING_CONTEXT_CONTROL fields (masked). */
export const CONTEXT_CONTROL_FIELDS = {
  /** CTX_CTRL_ENGINE_CTX_RESTORE_INHIBIT: the engine context is not restored. */
  engineRestoreInhibit: bit(0),
  /** CTX_CTRL_INHIBIT_SYN_CTX_SWITCH. */
  inhibitSynCtxSwitch: bit(3),
} as const;

/** RING_BBSTATE fields. */
export const BBSTATE_FIELDS = {
  /** RING_BB_PPGTT: the current batch runs from the PPGTT. */
  ppgtt: bit(5),
} as const;

/** HWS_PGA fields: the hardware status page's graphics address. */
export const HWS_PGA_FIELDS = {
  /** Page-aligned graphics address of the status page. */
  address: field(31, 12),
} as const;

/** RING_MI_MODE fields (a masked register). */
export const MI_MODE_FIELDS = {
  /** STOP_RING. */
  stopRing: bit(8),
  /** MODE_IDLE (read-only). */
  modeIdle: bit(9),
} as const;

/** RING_MODE_GEN7 (GFX_MODE) fields (a masked register). */
export const RING_MODE_FIELDS = {
  /** GEN8_GFX_PPGTT_48B. */
  ppgtt48b: bit(7),
  /** GFX_PPGTT_ENABLE. */
  ppgttEnable: bit(9),
  /** GFX_PSMI_GRANULARITY. */
  psmiGranularity: bit(10),
  /** GFX_REPLAY_MODE. */
  replayMode: bit(11),
  /** GFX_TLB_INVALIDATE_EXPLICIT. */
  tlbInvalidateExplicit: bit(13),
  /** GFX_RUN_LIST_ENABLE: execlist submission. */
  runListEnable: bit(15),
} as const;

/** EXECLIST_STATUS_LO fields (`struct execlist_status_format`, low dword). */
export const EXECLIST_STATUS_FIELDS = {
  /** Current execlist pointer. */
  currentPointer: bit(0),
  /** Execlist write pointer. */
  writePointer: bit(1),
  /** Execlist queue full (a second submission is pending). */
  queueFull: bit(2),
  /** Execlist 1 valid. */
  el1Valid: bit(3),
  /** Execlist 0 valid. */
  el0Valid: bit(4),
  /** Last context switch reason. */
  lastSwitchReason: field(13, 5),
  /** Current active element status. */
  activeElement: field(15, 14),
  /** Arbitration enable. */
  arbitrationEnable: bit(16),
  /** Execlist 1 active. */
  el1Active: bit(17),
  /** Execlist 0 active. */
  el0Active: bit(18),
} as const;

/** CSFE_CHICKEN1 fields (gen9). */
export const CSFE_CHICKEN1_FIELDS = {
  /** Bit 3 (0x8 upstream, unnamed): gvt/handlers.c `csfe_chicken1_mmio_write` refuses it. */
  bit3: bit(3),
  /** Bit 4 (0x10 upstream, unnamed): refused the same way. */
  bit4: bit(4),
} as const;

/** CONTEXT_STATUS_PTR fields (`struct execlist_context_status_pointer_format`). */
export const CSB_PTR_FIELDS = {
  /** Write pointer: the last entry the GPU wrote (7 after reset: none yet). */
  writePtr: field(2, 0),
  /** Read pointer: the last entry software consumed. */
  readPtr: field(10, 8),
} as const;

/** Status dword of a context status buffer entry (GEN8_CTX_STATUS_*). */
export const CSB_STATUS_FIELDS = {
  /** Idle to active. */
  idleToActive: bit(0),
  /** Preempted. */
  preempted: bit(1),
  /** Element switch. */
  elementSwitch: bit(2),
  /** Active to idle. */
  activeToIdle: bit(3),
  /** Context complete. */
  complete: bit(4),
  /** Lite restore. */
  liteRestore: bit(15),
} as const;

/** Low dword of a context descriptor as written to ELSP (`execlist_ctx_descriptor_format`). */
export const CTX_DESC_FIELDS = {
  /** Valid. */
  valid: bit(0),
  /** Force page-directory restore. */
  forcePdRestore: bit(1),
  /** Force restore. */
  forceRestore: bit(2),
  /** Addressing mode (1: legacy 32-bit, 3: legacy 64-bit). */
  addressingMode: field(4, 3),
  /** L3/LLC coherency. */
  llcCoherency: bit(5),
  /** Fault handling. */
  faultHandling: field(7, 6),
  /** Privilege access: the context runs with GGTT privilege (required by GVT-g). */
  privilege: bit(8),
  /** LRCA: GGTT page of the context image. */
  lrca: field(31, 12),
} as const;

/**
 * RING_INDIRECT_CTX fields (render): the indirect-context workaround batch (gvt
 * `INDIRECT_CTX_ADDR_MASK`, `INDIRECT_CTX_SIZE_MASK`).
 */
export const INDIRECT_CTX_FIELDS = {
  /** Size in cache lines (64 bytes); 0: none. */
  size: field(5, 0),
  /** Graphics address bits 31:6 (cache-line aligned). */
  address: field(31, 6),
} as const;

/** RING_BB_PER_CTX_PTR fields (render): the per-context workaround batch (`PER_CTX_ADDR_MASK`). */
export const BB_PER_CTX_PTR_FIELDS = {
  /** The pointer is valid. */
  valid: bit(0),
  /** Graphics address bits 31:12 (page aligned). */
  address: field(31, 12),
} as const;

/** CSB entries (two dwords each). */
export const CSB_ENTRIES = 6;

/** The per-engine rows (offsets from the ring base). */
export const RING_ROWS: readonly RegRow[] = [
  { name: "RING_EXCC", offset: 0x28, cmd: D_ALL },
  { name: "RING_TAIL", offset: 0x30 },
  { name: "RING_HEAD", offset: 0x34 },
  { name: "RING_START", offset: 0x38, gmadr: true, fields: RING_START_FIELDS },
  { name: "RING_CTL", offset: 0x3c, fields: RING_CTL_FIELDS },
  { name: "RING_SYNC_0", offset: 0x40, cmd: D_ALL },
  { name: "RING_SYNC_1", offset: 0x44, cmd: D_ALL },
  { name: "ACTHD_UDW", offset: 0x5c, access: "ro" },
  { name: "INSTDONE", offset: 0x6c, access: "ro" },
  { name: "ACTHD", offset: 0x74, access: "ro" },
  { name: "HWS_PGA", offset: 0x80, gmadr: true, fields: HWS_PGA_FIELDS },
  { name: "NOPID", offset: 0x94 },
  { name: "HWSTAM", offset: 0x98 },
  {
    name: "MI_MODE",
    offset: 0x9c,
    access: "masked",
    reset: 1 << 9,
    roMask: 1 << 9,
    cmd: D_ALL,
    fields: MI_MODE_FIELDS,
  },
  { name: "IMR", offset: 0xa8, reset: 0xffffffff },
  { name: "INSTPM", offset: 0xc0, access: "masked", cmd: D_ALL },
  {
    name: "CSFE_CHICKEN1",
    offset: 0xd4,
    access: "masked",
    exists: D_SKL_PLUS,
    cmd: D_SKL_PLUS,
    fields: CSFE_CHICKEN1_FIELDS,
  },
  { name: "BBSTATE", offset: 0x110, access: "ro", fields: BBSTATE_FIELDS },
  { name: "RING_134", offset: 0x134, cmd: D_ALL },
  { name: "BBADDR", offset: 0x140, access: "ro", gmadr: true },
  { name: "ELSP", offset: 0x230, sem: SEM_ELSP, fields: CTX_DESC_FIELDS },
  {
    name: "EXECLIST_STATUS_LO",
    offset: 0x234,
    access: "ro",
    sem: SEM_EXECLIST_STATUS,
    fields: EXECLIST_STATUS_FIELDS,
  },
  { name: "EXECLIST_STATUS_HI", offset: 0x238, access: "ro", sem: SEM_EXECLIST_STATUS },
  { name: "CONTEXT_CONTROL", offset: 0x244, cmd: D_ALL, fields: CONTEXT_CONTROL_FIELDS },
  {
    name: "PDP",
    offset: 0x270,
    count: 8,
    cmd: D_ALL,
    nameOf: (i) => `PDP${i >> 1}_${i & 1 ? "UDW" : "LDW"}`,
  },
  {
    name: "RING_MODE_GEN7",
    offset: 0x29c,
    access: "masked",
    cmd: D_ALL,
    fields: RING_MODE_FIELDS,
  },
  { name: "TIMESTAMP", offset: 0x358, access: "ro", cmd: D_ALL, sem: SEM_TIMESTAMP },
  { name: "TIMESTAMP_UDW", offset: 0x35c, access: "ro", cmd: D_ALL, sem: SEM_TIMESTAMP },
  {
    name: "CSB",
    offset: 0x370,
    count: 2 * CSB_ENTRIES,
    access: "ro",
    nameOf: (i) => `CSB${i >> 1}_${i & 1 ? "HI" : "LO"}`,
    fields: CSB_STATUS_FIELDS,
  },
  {
    name: "CONTEXT_STATUS_PTR",
    offset: 0x3a0,
    access: "masked",
    reset: (7 << 8) | 7,
    roMask: CSB_PTR_FIELDS.writePtr.mask,
    sem: SEM_CSB_PTR,
    fields: CSB_PTR_FIELDS,
  },
  { name: "CTX_TIMESTAMP", offset: 0x3a8 },
  {
    name: "GPR",
    offset: 0x600,
    count: 32,
    nameOf: (i) => `GPR${i >> 1}_${i & 1 ? "UDW" : "LDW"}`,
  },
];
