/**
 * Command scanning (docs/domain.md section 6, i915 gvt/cmd_parser.c): the guest's ring range
 * [head, tail) is copied into a shadow ring and scanned command by command with the shared
 * command table; MI_BATCH_BUFFER_START into a privileged (GGTT) batch is followed (second
 * level only from a first-level batch), the batch copied into a host shadow buffer,
 * scanned and the start command patched to the copy. PPGTT batches are scanned in place
 * only when enabled. Register writes by commands must hit whitelisted (CMD_ACCESS)
 * registers, GGTT addresses must lie in the vGPU's slices, some commands are always
 * rejected, MI_USER_INTERRUPT becomes MI_NOOP (delivered at completion) and
 * MI_DISPLAY_FLIP is emulated at completion. The first violation stops the scan.
 */

import {
  cmdLength,
  COMMANDS,
  decode,
  F_MEM_WRITE,
  F_SCAN_REJECT,
  header,
  ID,
  PIPE_CONTROL_GLOBAL_GTT_IVB,
  X_BB_END,
  X_BB_START,
  X_BLT_COPY,
  X_BLT_FILL,
  X_DISPLAY_FLIP,
  X_FLUSH_DW,
  X_LRI,
  X_LRM,
  X_LRR,
  X_PIPE_CONTROL,
  X_USER_INTERRUPT,
} from "../cmd/table.ts";
import { MMIO_SIZE } from "../hw/regs.ts";
import type { MptGate } from "../mpt/gate.ts";
import { VIOLATION_KINDS, type ViolationKind } from "./counters.ts";
import type { HostBuffer, HostGm } from "./host_gm.ts";
import { pteFrame } from "./gtt.ts";
import { LEVEL_PD, LEVEL_PT, type PpgttMm, type ShadowPage } from "./ppgtt.ts";
import type { Vgpu } from "./vgpu_state.ts";

const PAGE = 4096;
const TWO32 = 4294967296;
/** Largest surface a command may address (gvt `max_surface_size`, 36 MiB). */
export const MAX_SURFACE_SIZE = 36 * 1024 * 1024;
/** Largest batch buffer followed (dwords). */
export const MAX_BATCH_DWORDS = 1 << 20;
/** MI_BATCH_BUFFER_START dw0: address space PPGTT (gen8). */
export const BB_PPGTT = 1 << 8;
/** MI_BATCH_BUFFER_START dw0: second-level batch. */
export const BB_2ND_LEVEL = 1 << 22;
/** PIPE_CONTROL dw1: post-sync register write (PIPE_CONTROL_MMIO_WRITE). */
export const PIPE_CONTROL_MMIO_WRITE = 1 << 23;
/** PIPE_CONTROL dw1: post-sync operation field (bits 15:14). */
export const PIPE_CONTROL_POST_SYNC = 3 << 14;
/** MI_FLUSH_DW dw0: post-sync operation field (bits 15:14). */
export const MI_FLUSH_DW_POST_SYNC = 3 << 14;
const NOOP = header(ID.MI_NOOP, 1);

const BUF_RING = 0, BUF_BB1 = 1, BUF_BB2 = 2;

/** 1 for commands whose graphics addresses are audited: memory writers, LRM, blits. */
const AUDITED = Uint8Array.from(
  COMMANDS,
  (c) =>
    (c.flags & F_MEM_WRITE) || c.exec === X_LRM || c.exec === X_BLT_COPY ||
      c.exec === X_BLT_FILL
      ? 1
      : 0,
);

/** Scanner cost model (ns) and options. */
export interface ScanOptions {
  /** Scan PPGTT (non-privileged) batch buffers too. */
  scanPpgttBatches: boolean;
  /** Cost per dword decoded. */
  nsPerDword: number;
  /** Cost per batch buffer shadowed (allocation, mapping). */
  nsPerBatch: number;
  /** Cost per page copied. */
  nsPerPage: number;
}

/** Default scanner costs. */
export const DEFAULT_SCAN_OPTIONS: ScanOptions = {
  scanPpgttBatches: false,
  nsPerDword: 3,
  nsPerBatch: 2_000,
  nsPerPage: 400,
};

/** What one scan produced. */
export class ScanResult {
  /** Shadow ring. */
  ring: HostBuffer | null = null;
  /** Dwords in the shadow ring. */
  ringDwords = 0;
  /** Shadowed batch buffers. */
  readonly batches: HostBuffer[] = [];
  /** MI_USER_INTERRUPTs patched out (delivered at completion). */
  userInterrupts = 0;
  /** Flips to emulate at completion: (pipe, surface) pairs. */
  readonly flips: number[] = [];
  /** Simulated cost (ns). */
  costNs = 0;
  /** Violation index into VIOLATION_KINDS, or -1. */
  violation: number = -1;
  /** Human-readable detail of the violation. */
  detail = "";

  /** Clears for reuse. */
  reset(): void {
    this.ring = null;
    this.ringDwords = 0;
    this.batches.length = 0;
    this.userInterrupts = 0;
    this.flips.length = 0;
    this.costNs = 0;
    this.violation = -1;
    this.detail = "";
  }
}

/** Register-access predicate: is this BAR0 offset writable by commands? */
export type CmdAccessCheck = (offset: number) => boolean;

/** The command scanner. */
export class Scanner {
  private stage = new Uint32Array(4096);
  private readonly page = new Uint8Array(PAGE);
  private readonly pageWords = new Uint32Array(this.page.buffer);
  private res: ScanResult = new ScanResult();
  private vgpu: Vgpu | null = null;
  private engine = 0;
  private mm: PpgttMm | null = null;

  /**
   * Creates a Scanner.
   * @param gate MPT gate (guest memory reads)
   * @param hostGm host graphics memory for shadow buffers
   * @param cmdAccess the CMD_ACCESS whitelist
   * @param options options and costs
   */
  constructor(
    private readonly gate: MptGate,
    private readonly hostGm: HostGm,
    private readonly cmdAccess: CmdAccessCheck,
    readonly options: ScanOptions,
  ) {}

  /**
   * Shadows and scans ring range [head, tail) of a guest ring at `ringStart` (GGTT) of
   * `ringSize` bytes. On a violation, everything shadowed so far is freed.
   */
  scanRing(
    v: Vgpu,
    engine: number,
    mm: PpgttMm | null,
    ringStart: number,
    ringSize: number,
    head: number,
    tail: number,
    out: ScanResult,
  ): ScanResult {
    out.reset();
    this.res = out;
    this.vgpu = v;
    this.engine = engine;
    this.mm = mm;
    const bytes = tail >= head ? tail - head : ringSize - head + tail;
    const dwords = bytes >>> 2;
    this.ensureStage(dwords);
    // Copy the ring range (with wrap-around) through the virtual GGTT.
    let copied = 0;
    while (copied < dwords) {
      const off = (head + copied * 4) % ringSize;
      const n = Math.min(dwords - copied, (ringSize - off) >>> 2, (PAGE - (off % PAGE)) >>> 2);
      if (!this.readGgtt(ringStart + off, n, copied)) {
        return this.fail("ring_range", `ring page at ${hex(ringStart + off)} not readable`);
      }
      copied += n;
    }
    out.costNs += Math.ceil(dwords / 1024) * this.options.nsPerPage;
    const ring = this.hostGm.alloc(Math.max(1, Math.ceil(dwords / 1024)));
    if (!ring) return this.fail("ring_range", "no host memory for the shadow ring");
    out.ring = ring;
    out.ringDwords = dwords;
    const ringCopy = this.stage.slice(0, dwords);
    if (!this.scanBuffer(ringCopy, dwords, BUF_RING, false)) return out;
    this.hostGm.writeDwords(ring, 0, ringCopy, dwords);
    return out;
  }

  /** Frees every shadow buffer of a result. */
  release(r: ScanResult): void {
    if (r.ring) this.hostGm.free(r.ring);
    for (const b of r.batches) this.hostGm.free(b);
    r.ring = null;
    r.batches.length = 0;
  }

  /** Records the first violation, counts it and frees the shadows made so far. */
  private fail(kind: ViolationKind, detail: string): ScanResult {
    const r = this.res;
    if (r.violation < 0) {
      r.violation = VIOLATION_KINDS.indexOf(kind);
      r.detail = detail;
      this.vgpu!.counters.violations[r.violation]++;
    }
    this.release(r);
    return r;
  }

  /** Grows the staging buffer to hold `n` dwords. */
  private ensureStage(n: number): void {
    if (this.stage.length < n) {
      let m = this.stage.length;
      while (m < n) m *= 2;
      this.stage = new Uint32Array(m);
    }
  }

  /** Reads `n` dwords at GGTT address `gma` (within one page) into stage[at..]. */
  private readGgtt(gma: number, n: number, at: number): boolean {
    const v = this.vgpu!;
    const gfn = v.ggtt.gmaToGfn(gma);
    if (gfn < 0) return false;
    if (this.gate.readGpa(v.id, gfn * PAGE, this.page) < 0) return false;
    const o = (gma % PAGE) >>> 2;
    this.stage.set(this.pageWords.subarray(o, o + n), at);
    return true;
  }

  /** Guest frame of a PPGTT address through the guest tables mirrored in the shadows. */
  private ppgttToGfn(gma: number): number {
    const mm = this.mm;
    if (!mm || !mm.shadowed) return -1;
    let spt: ShadowPage | null;
    let level: number;
    if (mm.levels === 4) {
      spt = mm.roots[0];
      level = 4;
    } else {
      spt = mm.roots[Math.floor(gma / 2 ** 30) & 3];
      level = LEVEL_PD;
    }
    while (spt) {
      const shift = 12 + 9 * (level - 1);
      const idx = Math.floor(gma / 2 ** shift) & 511;
      const e = spt.guest[idx];
      if (e % 2 !== 1) return -1;
      if (level === LEVEL_PT) {
        if (spt.ips64k) return pteFrame(spt.guest[idx & ~15]) + (idx & 15);
        return pteFrame(e);
      }
      if (level === LEVEL_PD && (e & 0x80) !== 0) {
        return pteFrame(e) + (Math.floor(gma / PAGE) & 511);
      }
      spt = spt.children[idx];
      level--;
    }
    return -1;
  }

  /** Reads `n` dwords at PPGTT address `gma` (within one page) into stage[at..]. */
  private readPpgtt(gma: number, n: number, at: number): boolean {
    const gfn = this.ppgttToGfn(gma);
    if (gfn < 0) return false;
    if (this.gate.readGpa(this.vgpu!.id, gfn * PAGE, this.page) < 0) return false;
    const o = (gma % PAGE) >>> 2;
    this.stage.set(this.pageWords.subarray(o, o + n), at);
    return true;
  }

  /**
   * Copies a batch buffer starting at `gma` into the stage until its MI_BATCH_BUFFER_END
   * (or a chained start), returning its length in dwords, or -1.
   */
  private fetchBatch(gma: number, ppgtt: boolean): number {
    let have = 0, ip = 0;
    const engine = this.engine;
    for (;;) {
      while (ip >= have) {
        if (have >= MAX_BATCH_DWORDS) return -1;
        const a = gma + have * 4;
        const n = (PAGE - (a % PAGE)) >>> 2;
        this.ensureStage(have + n + 16);
        const ok = ppgtt ? this.readPpgtt(a, n, have) : this.readGgtt(a, n, have);
        if (!ok) return -1;
        have += n;
      }
      const dw0 = this.stage[ip];
      const id = decode(dw0, engine);
      if (id < 0) return ip + 1; // let the scan report it
      const len = cmdLength(id, dw0);
      const x = COMMANDS[id].exec;
      if (x === X_BB_END) return ip + 1;
      if (x === X_BB_START && (dw0 & BB_2ND_LEVEL) === 0) {
        // chained batch: this buffer ends at the start command
        while (ip + len > have) {
          const a = gma + have * 4;
          const n = (PAGE - (a % PAGE)) >>> 2;
          this.ensureStage(have + n + 16);
          if (!(ppgtt ? this.readPpgtt(a, n, have) : this.readGgtt(a, n, have))) return -1;
          have += n;
        }
        return ip + len;
      }
      ip += len;
    }
  }

  /** Address audit: [gma, gma + size) must lie in the vGPU's slices. */
  private auditGgtt(gma: number, size: number, what: string): boolean {
    if (size > MAX_SURFACE_SIZE || !this.vgpu!.gmaInSlices(gma, size)) {
      this.fail("address", `${what} writes ${hex(gma)} outside the vGPU's slices`);
      return false;
    }
    return true;
  }

  /** Register audit: the offset must be a CMD_ACCESS (whitelisted) register. */
  private auditReg(offset: number, what: string): boolean {
    const off = offset & 0x7ffffc;
    if (off + 4 > MMIO_SIZE || !this.cmdAccess(off)) {
      this.fail("register", `${what} to register ${hex(off)} (not whitelisted)`);
      return false;
    }
    return true;
  }

  /**
   * Scans `buf[0..len)` (a copy being shadowed into `host`), patching it in place.
   * Returns false on a violation.
   */
  private scanBuffer(buf: Uint32Array, len: number, type: number, ppgtt: boolean): boolean {
    const v = this.vgpu!;
    const engine = this.engine;
    const c = v.counters;
    let ip = 0;
    let cmds = 0;
    while (ip < len) {
      const dw0 = buf[ip];
      const id = decode(dw0, engine);
      if (id < 0) {
        this.fail("unknown_command", `unknown command ${hex(dw0)} on engine ${engine}`);
        return false;
      }
      const info = COMMANDS[id];
      const n = cmdLength(id, dw0);
      cmds++;
      if (info.validLen !== 0 && n !== info.validLen) {
        this.fail("unknown_command", `${info.name} with length ${n}`);
        return false;
      }
      if (ip + n > len && info.exec !== X_BB_END) {
        this.fail("ring_overrun", `${info.name} runs past the end of its buffer`);
        return false;
      }
      if (info.flags & F_SCAN_REJECT) {
        this.fail("rejected_command", `${info.name} is not allowed`);
        return false;
      }
      switch (info.exec) {
        case X_LRI:
          for (let k = 1; k + 1 < n; k += 2) {
            if (!this.auditReg(buf[ip + k], info.name)) return false;
          }
          break;
        case X_LRR:
          if (!this.auditReg(buf[ip + 1], info.name) || !this.auditReg(buf[ip + 2], info.name)) {
            return false;
          }
          break;
        case X_PIPE_CONTROL: {
          const dw1 = buf[ip + 1];
          if ((dw1 & PIPE_CONTROL_MMIO_WRITE) && !this.auditReg(buf[ip + 2], info.name)) {
            return false;
          }
          if ((dw1 & PIPE_CONTROL_POST_SYNC) && (dw1 & PIPE_CONTROL_GLOBAL_GTT_IVB)) {
            const gma = ((buf[ip + 2] & ~7) >>> 0) + buf[ip + 3] * TWO32;
            if (!this.auditGgtt(gma, 8, info.name)) return false;
          }
          break;
        }
        case X_FLUSH_DW: {
          const a = buf[ip + 1];
          if ((dw0 & MI_FLUSH_DW_POST_SYNC) && (a & 4)) {
            if (!this.auditGgtt(((a & ~7) >>> 0) + buf[ip + 2] * TWO32, 8, info.name)) return false;
          }
          break;
        }
        case X_USER_INTERRUPT:
          buf[ip] = NOOP;
          this.res.userInterrupts++;
          break;
        case X_DISPLAY_FLIP: {
          const pipe = (buf[ip] >>> 19) & 7;
          const surf = (buf[ip + 2] & ~0xfff) >>> 0;
          if (!this.auditGgtt(surf, 4, info.name)) return false;
          this.res.flips.push(pipe === 4 ? 2 : pipe & 1, surf);
          for (let k = 0; k < n; k++) buf[ip + k] = NOOP;
          break;
        }
        case X_BB_END:
          if (type !== BUF_RING) {
            ip = len;
            continue;
          }
          break;
        case X_BB_START:
          if (!this.startBatch(buf, ip, n, type)) return false;
          if (type !== BUF_RING && (dw0 & BB_2ND_LEVEL) === 0) {
            ip = len; // chained: this buffer ends here
            continue;
          }
          break;
        default:
          if (info.regDw >= 0 && !this.auditReg(buf[ip + info.regDw], info.name)) return false;
          if (info.addr.length > 0 && AUDITED[id] === 1) {
            const ggtt = info.ggttDw >= 0 ? (buf[ip + info.ggttDw] & info.ggttMask) !== 0 : !ppgtt;
            if (ggtt) {
              for (const a of info.addr) {
                const hi = n > a + 1 ? (buf[ip + a + 1] & 0xffff) * TWO32 : 0;
                if (!this.auditGgtt(((buf[ip + a] & ~3) >>> 0) + hi, 4, info.name)) return false;
              }
            }
          }
      }
      ip += n;
    }
    c.cmdsScanned[engine] += cmds;
    c.dwordsScanned[engine] += len;
    this.res.costNs += len * this.options.nsPerDword;
    return true;
  }

  /** Follows MI_BATCH_BUFFER_START at buf[ip]; patches it to the shadow copy. */
  private startBatch(buf: Uint32Array, ip: number, n: number, type: number): boolean {
    const dw0 = buf[ip];
    const second = (dw0 & BB_2ND_LEVEL) !== 0;
    if (second && type !== BUF_BB1) {
      this.fail("batch_depth", "second-level batch started from outside a first-level batch");
      return false;
    }
    const gma = ((buf[ip + 1] & ~3) >>> 0) + (n > 2 ? (buf[ip + 2] & 0xffff) * TWO32 : 0);
    const ppgtt = (dw0 & BB_PPGTT) !== 0;
    if (ppgtt && !this.options.scanPpgttBatches) return true;
    if (!ppgtt && !this.vgpu!.gmaInSlices(gma, 4)) {
      this.fail("address", `batch buffer at ${hex(gma)} outside the vGPU's slices`);
      return false;
    }
    // The parent buffer is a copy, so fetching may reuse the stage.
    const len = this.fetchBatch(gma, ppgtt);
    if (len < 0) {
      this.fail("address", `batch buffer at ${hex(gma)} not readable`);
      return false;
    }
    const copy = this.stage.slice(0, len);
    const pages = Math.max(1, Math.ceil(len / 1024));
    this.res.costNs += this.options.nsPerBatch + pages * this.options.nsPerPage;
    if (ppgtt) {
      // Non-privileged batch: scanned in place, executed from the PPGTT as submitted.
      return this.scanBuffer(copy, len, second ? BUF_BB2 : BUF_BB1, true);
    }
    const host = this.hostGm.alloc(pages);
    if (!host) {
      this.fail("address", "no host memory for a shadow batch buffer");
      return false;
    }
    this.res.batches.push(host);
    this.vgpu!.counters.batchesShadowed++;
    if (!this.scanBuffer(copy, len, second ? BUF_BB2 : BUF_BB1, false)) return false;
    this.hostGm.writeDwords(host, 0, copy, len);
    buf[ip + 1] = host.gma >>> 0;
    if (n > 2) buf[ip + 2] = Math.floor(host.gma / TWO32);
    return true;
  }
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}
