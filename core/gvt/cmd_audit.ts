/**
 * The command scanner's per-command rules (gvt/cmd_parser.c), as a pure function of one
 * decoded command, its buffer and the vGPU's whitelist and slices: the scanner runs it on
 * every command it shadows, `gvtsim scan` on a bare command stream. What each rule checks,
 * and the upstream function it follows:
 *
 * - length of fixed-length commands (`gvt_check_valid_cmd_length`, -EFAULT);
 * - always-rejected commands: MI_UPDATE_GTT, MI_SEMAPHORE_WAIT, MI_REPORT_PERF_COUNT,
 *   MI_STORE_DATA_INDEX, MI_CLFLUSH, MI_CONDITIONAL_BATCH_BUFFER_END, MI_OP_2E
 *   (`unexpected_cmd`, -EBADRQC);
 * - register writes and reads by commands (`cmd_reg_handler`): the register must lie in
 *   MMIO (-EFAULT) and be F_CMD_ACCESS on the platform (-EBADRQC), except while a default
 *   context image is scanned to update the whitelist (`is_init_ctx`: the register becomes
 *   F_CMD_ACCESS); MI_STORE_REGISTER_MEM and
 *   MI_LOAD_REGISTER_MEM may only touch GEN8_L3SQCREG4 and 0x21f0 (and INSTPM on
 *   Broadwell), MI_LOAD_REGISTER_REG only 0x215c on Broadwell (-EPERM); a PIPE_CONTROL
 *   register post-sync needs only the whitelist;
 * - on Broadwell, register offsets with bits 22:18 set in MI_LOAD_REGISTER_IMM on a
 *   non-render engine (DERRMR on the blitter excepted), MI_LOAD_REGISTER_REG and
 *   MI_LOAD_REGISTER_MEM (`cmd_handler_lri`, `cmd_handler_lrr`, `cmd_handler_lrm`:
 *   `cmd_reg_inhibit`, -EBADRQC);
 * - graphics addresses written through the GGTT must lie in the vGPU's slices
 *   (`cmd_address_audit`, -EFAULT): MI_STORE_DATA_IMM (`cmd_handler_mi_store_data_imm`),
 *   MI_STORE_REGISTER_MEM / MI_LOAD_REGISTER_MEM (`cmd_handler_srm` / `cmd_handler_lrm`),
 *   MI_FLUSH_DW with a post-sync write (`cmd_handler_mi_flush_dw`), PIPE_CONTROL only for
 *   post-sync operation 1, a qword write (`cmd_handler_pipe_control`), MI_ATOMIC
 *   (`cmd_handler_mi_op_2f`); in index mode the offset must lie in the status page;
 * - batch buffer starts (`cmd_handler_mi_batch_buffer_start`): none from a second-level
 *   batch, a second level only from a first-level batch (-EFAULT); a privileged (GGTT)
 *   batch must lie in the slices (`perform_bb_shadow`, -EFAULT).
 *
 * Blit commands carry graphics addresses too, but upstream audits none of them.
 */

import { PAGE_SIZE } from "../hw/memory.ts";
import {
  cmdLength,
  COMMANDS,
  F_SCAN_REJECT,
  X_ATOMIC,
  X_BB_START,
  X_FLUSH_DW,
  X_LRI,
  X_LRM,
  X_LRR,
  X_PIPE_CONTROL,
  X_SDI,
  X_SRM,
} from "../cmd/table.ts";
import {
  ATOMIC_INLINE,
  ATOMIC_SIZE,
  BB_2ND_LEVEL,
  BB_PPGTT,
  CMD_GMA,
  CMD_GMA_QW,
  CMD_REG_INHIBIT,
  cmdAddress,
  cmdReg,
  FLUSH_DW_USE_GTT,
  MI_USE_GGTT_BIT,
  PIPE_CONTROL_GLOBAL_GTT,
  PIPE_CONTROL_MMIO_WRITE_BIT,
  POST_SYNC_OP,
  POST_SYNC_WRITE_IMM,
  POST_SYNC_WRITE_PS_DEPTH,
  POST_SYNC_WRITE_TIMESTAMP,
  SDI_CORE,
  SDI_QWORD,
  STORE_INDEX,
} from "../cmd/fields.ts";
import { getField, isSet } from "../hw/bits.ts";
import type { Platform } from "../hw/platform.ts";
import { registerOffset } from "../hw/regdefs.ts";
import { BCS, MMIO_SIZE, RCS } from "../hw/regs.ts";
import type { ViolationKind } from "./counters.ts";

/**
 * Buffer kinds: the ring, a first-level and a second-level batch, and a context image's
 * engine context (`RING_BUFFER_CTX`: audited as the ring, ended by MI_BATCH_BUFFER_END).
 */
export const BUF_RING = 0, BUF_BB1 = 1, BUF_BB2 = 2, BUF_CTX = 3;

/** Largest surface a command may address (`max_surface_size`, 36 MiB). */
export const MAX_SURFACE_SIZE = 36 * 1024 * 1024;

/** What the audit of one command knows about its surroundings. */
export interface AuditEnv {
  /** The platform (its whitelist and Broadwell's extra rules). */
  readonly platform: Platform;
  /** Engine the buffer runs on. */
  readonly engine: number;
  /** True if commands may write the register at `offset` (F_CMD_ACCESS). */
  cmdAccessible(offset: number): boolean;
  /** True if [gma, gma + size) lies in the vGPU's slices. */
  inSlices(gma: number, size: number): boolean;
  /**
   * Set while a default context image is scanned to update the whitelist
   * (`is_init_ctx`): every register a command accesses is made command-accessible
   * instead of judged.
   */
  initCtx?: (offset: number) => void;
}

/** Why a command was refused. */
export class AuditVerdict {
  /** Violation kind, or null: accepted. */
  kind: ViolationKind | null = null;
  /** What was wrong, with the numbers. */
  detail = "";
  /** The upstream function whose rule refused it (cmd_parser.c ...). */
  rule = "";

  /** Clears for reuse. */
  reset(): void {
    this.kind = null;
    this.detail = "";
    this.rule = "";
  }
}

function refuse(out: AuditVerdict, kind: ViolationKind, detail: string, rule: string): false {
  out.kind = kind;
  out.detail = detail;
  out.rule = `cmd_parser.c ${rule}`;
  return false;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

const DERRMR = registerOffset("DERRMR");
const L3SQCREG4 = registerOffset("GEN8_L3SQCREG4");
const REG_21F0 = registerOffset("0x21f0");
const INSTPM = registerOffset("RCS_INSTPM");
const REG_215C = registerOffset("0x215c");
const PS_DEPTH_COUNT = registerOffset("PS_DEPTH_COUNT");
const RCS_TIMESTAMP = registerOffset("RCS_TIMESTAMP");

/** Register operations that reach `cmd_reg_handler`. */
type RegOp = "lri" | "srm" | "lrm" | "lrr-src" | "lrr-dst" | "pipe_ctrl";

/** `cmd_reg_handler`: may command `name` touch the register at `offset` with `op`? */
function auditReg(
  offset: number,
  op: RegOp,
  name: string,
  env: AuditEnv,
  out: AuditVerdict,
): boolean {
  const rule = "cmd_reg_handler";
  if (offset + 4 > MMIO_SIZE) {
    return refuse(out, "register", `${name} access to ${hex(offset)} outside of MMIO`, rule);
  }
  if (env.initCtx !== undefined) {
    env.initCtx(offset);
    return true;
  }
  if (!env.cmdAccessible(offset)) {
    return refuse(
      out,
      "register",
      `${name} access to register ${hex(offset)} (not whitelisted on ${env.platform.id})`,
      rule,
    );
  }
  const bdw = env.platform.gen === 8;
  if (op === "srm" || op === "lrm") {
    if (offset === L3SQCREG4 || offset === REG_21F0 || (bdw && offset === INSTPM)) return true;
    return refuse(out, "register_op", `${name} may not access register ${hex(offset)}`, rule);
  }
  if (op === "lrr-src" || op === "lrr-dst") {
    if (bdw && offset === REG_215C) return true;
    return refuse(out, "register_op", `${name} may not access register ${hex(offset)}`, rule);
  }
  return true;
}

/** `cmd_reg_inhibit` on Broadwell: a register dword with bits 22:18 set. */
function inhibited(dword: number): boolean {
  return getField(dword, CMD_REG_INHIBIT) !== 0;
}

/** Refusal for a Broadwell register dword with bits 22:18 set. */
function refuseInhibited(dword: number, name: string, rule: string, out: AuditVerdict): false {
  return refuse(out, "register", `${name} register dword ${hex(dword)} has bits 22:18 set`, rule);
}

/** `cmd_address_audit`: [gma, gma + size) in the slices (index mode: in the status page). */
function auditAddress(
  gma: number,
  size: number,
  indexMode: boolean,
  name: string,
  env: AuditEnv,
  out: AuditVerdict,
): boolean {
  const ok = size <= MAX_SURFACE_SIZE && (indexMode ? gma < PAGE_SIZE : env.inSlices(gma, size));
  if (ok) return true;
  return refuse(
    out,
    "address",
    `${name} writes ${hex(gma)} (+${size}) outside the vGPU's slices`,
    "cmd_address_audit",
  );
}

/** `gvt_check_valid_cmd_length`. */
function checkLength(
  n: number,
  valid: number,
  name: string,
  rule: string,
  out: AuditVerdict,
): boolean {
  if (n === valid) return true;
  return refuse(out, "unknown_command", `${name} with length ${n} (expected ${valid})`, rule);
}

/**
 * Audits command `id` (length `n`) at `buf[ip]`, in a buffer of kind `type` (BUF_*), under
 * upstream's rules; true if accepted, else `out` says why.
 */
export function auditCommand(
  buf: Uint32Array,
  ip: number,
  n: number,
  id: number,
  type: number,
  env: AuditEnv,
  out: AuditVerdict,
): boolean {
  const info = COMMANDS[id];
  const name = info.name;
  const dw0 = buf[ip];
  if (info.validLen !== 0 && n !== info.validLen) {
    return checkLength(n, info.validLen, name, "gvt_check_valid_cmd_length", out);
  }
  if (info.flags & F_SCAN_REJECT) {
    return refuse(out, "rejected_command", `${name} is not allowed`, "unexpected_cmd");
  }
  const bdw = env.platform.gen === 8;
  switch (info.exec) {
    case X_LRI:
      for (let k = 1; k + 1 < n; k += 2) {
        const reg = cmdReg(buf[ip + k]);
        const exempt = env.engine === BCS && reg === DERRMR;
        if (bdw && env.engine !== RCS && !exempt && inhibited(buf[ip + k])) {
          return refuseInhibited(buf[ip + k], name, "cmd_handler_lri", out);
        }
        if (!auditReg(reg, "lri", name, env, out)) return false;
      }
      return true;
    case X_LRR: {
      const src = buf[ip + 1], dst = buf[ip + 2];
      if (bdw && (inhibited(src) || inhibited(dst))) {
        return refuseInhibited(inhibited(src) ? src : dst, name, "cmd_handler_lrr", out);
      }
      return auditReg(cmdReg(src), "lrr-src", name, env, out) &&
        auditReg(cmdReg(dst), "lrr-dst", name, env, out);
    }
    case X_LRM:
    case X_SRM: {
      const lrm = info.exec === X_LRM;
      if (lrm && bdw && inhibited(buf[ip + 1])) {
        return refuseInhibited(buf[ip + 1], name, "cmd_handler_lrm", out);
      }
      const reg = cmdReg(buf[ip + 1]);
      if (!auditReg(reg, lrm ? "lrm" : "srm", name, env, out)) return false;
      if (!isSet(dw0, MI_USE_GGTT_BIT)) return true;
      return auditAddress(cmdAddress(buf, ip + 2), 4, false, name, env, out);
    }
    case X_PIPE_CONTROL: {
      const dw1 = buf[ip + 1];
      if (isSet(dw1, PIPE_CONTROL_MMIO_WRITE_BIT)) {
        return auditReg(cmdReg(buf[ip + 2]), "pipe_ctrl", name, env, out);
      }
      const postSync = getField(dw1, POST_SYNC_OP);
      if (postSync === POST_SYNC_WRITE_PS_DEPTH) {
        return auditReg(PS_DEPTH_COUNT, "pipe_ctrl", name, env, out);
      }
      if (postSync === POST_SYNC_WRITE_TIMESTAMP) {
        return auditReg(RCS_TIMESTAMP, "pipe_ctrl", name, env, out);
      }
      if (postSync === POST_SYNC_WRITE_IMM && isSet(dw1, PIPE_CONTROL_GLOBAL_GTT)) {
        const gma = cmdAddress(buf, ip + 2, CMD_GMA_QW);
        return auditAddress(gma, 8, isSet(dw1, STORE_INDEX), name, env, out);
      }
      return true;
    }
    case X_FLUSH_DW: {
      if (n !== 4 && n !== 5) return checkLength(n, 4, name, "cmd_handler_mi_flush_dw", out);
      if (getField(dw0, POST_SYNC_OP) === 0 || !isSet(buf[ip + 1], FLUSH_DW_USE_GTT)) return true;
      const gma = cmdAddress(buf, ip + 1, CMD_GMA_QW);
      return auditAddress(gma, 8, isSet(dw0, STORE_INDEX), name, env, out);
    }
    case X_SDI: {
      if (!isSet(dw0, MI_USE_GGTT_BIT)) return true;
      const valid = isSet(dw0, SDI_QWORD) ? 5 : 4;
      if (!checkLength(n, valid, name, "cmd_handler_mi_store_data_imm", out)) return false;
      const size = (n - 3) * 4;
      const core = isSet(buf[ip + 1], SDI_CORE) ? 1 : 0;
      const gma = cmdAddress(buf, ip + 1) + size * core;
      return auditAddress(gma, size, false, name, env, out);
    }
    case X_ATOMIC: {
      if (!isSet(dw0, MI_USE_GGTT_BIT)) return true;
      const valid = isSet(dw0, ATOMIC_INLINE) ? 11 : 3;
      if (!checkLength(n, valid, name, "cmd_handler_mi_op_2f", out)) return false;
      const size = 4 * 2 ** getField(dw0, ATOMIC_SIZE);
      return auditAddress(cmdAddress(buf, ip + 1), size, false, name, env, out);
    }
    case X_BB_START: {
      const rule = "cmd_handler_mi_batch_buffer_start";
      if (type === BUF_BB2) {
        return refuse(out, "batch_depth", `${name} in a second-level batch`, rule);
      }
      if (isSet(dw0, BB_2ND_LEVEL) && type !== BUF_BB1) {
        return refuse(out, "batch_depth", "second-level batch started from the ring", rule);
      }
      if (isSet(dw0, BB_PPGTT)) return true;
      const gma = batchTarget(buf, ip, n);
      if (env.inSlices(gma, 4)) return true;
      return refuse(
        out,
        "address",
        `batch buffer at ${hex(gma)} outside the vGPU's slices`,
        "perform_bb_shadow",
      );
    }
  }
  return true;
}

/** The graphics address MI_BATCH_BUFFER_START at `buf[ip]` (length `n`) jumps to. */
export function batchTarget(buf: Uint32Array, ip: number, n: number): number {
  return n > 2 ? cmdAddress(buf, ip + 1) : (buf[ip + 1] & CMD_GMA.mask) >>> 0;
}

/** One command of a stream as {@link auditStream} judges it. */
export interface StreamEntry {
  /** Dword index of the command. */
  at: number;
  /** Command name, or null for an undecodable dword. */
  name: string | null;
  /** Length in dwords (1 for an undecodable dword). */
  length: number;
  /** Null if accepted, else why not. */
  refusal: { kind: ViolationKind; detail: string; rule: string } | null;
}

/**
 * Judges every command of a bare dword stream (as the scanner would in a ring of the
 * given kind) without following batch buffers; stops at the first undecodable dword,
 * since its length is unknown. `decodeId(dw0)` is the table decode for the engine.
 */
export function auditStream(
  dwords: Uint32Array,
  decodeId: (dw0: number) => number,
  env: AuditEnv,
  type = BUF_RING,
): StreamEntry[] {
  const out: StreamEntry[] = [];
  const v = new AuditVerdict();
  for (let ip = 0; ip < dwords.length;) {
    const id = decodeId(dwords[ip]);
    if (id < 0) {
      out.push({
        at: ip,
        name: null,
        length: 1,
        refusal: {
          kind: "unknown_command",
          detail: `unknown command ${hex(dwords[ip])} on engine ${env.engine}`,
          rule: "cmd_parser.c cmd_parser_exec",
        },
      });
      break;
    }
    const n = cmdLength(id, dwords[ip]);
    if (ip + n > dwords.length) {
      out.push({
        at: ip,
        name: COMMANDS[id].name,
        length: n,
        refusal: {
          kind: "ring_overrun",
          detail: `${COMMANDS[id].name} needs ${n} dwords, ${dwords.length - ip} left`,
          rule: "cmd_parser.c command_scan",
        },
      });
      break;
    }
    v.reset();
    const ok = auditCommand(dwords, ip, n, id, type, env, v);
    out.push({
      at: ip,
      name: COMMANDS[id].name,
      length: n,
      refusal: ok ? null : { kind: v.kind!, detail: v.detail, rule: v.rule },
    });
    ip += n;
  }
  return out;
}
