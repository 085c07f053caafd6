/**
 * Command scanning (docs/domain.md section 6, i915 gvt/cmd_parser.c): the guest's ring range
 * [head, tail) is copied into a shadow ring and scanned command by command with the shared
 * command table; MI_BATCH_BUFFER_START into a privileged (GGTT) batch is followed (second
 * level only from a first-level batch), the batch copied into a host shadow buffer,
 * scanned and the start command patched to the copy. PPGTT batches are scanned in place
 * only when enabled. Each command is judged by the upstream rules of cmd_audit.ts (the
 * platform's register whitelist, address audits, rejected commands, batch nesting);
 * MI_USER_INTERRUPT becomes MI_NOOP (delivered at completion) and MI_DISPLAY_FLIP is
 * emulated at completion. The first violation stops the scan. The engine context copied into
 * a shadow context is scanned the same way (`intel_gvt_scan_engine_context`), and the
 * default context images' registers join the whitelist when a host's first vGPU is created
 * (`intel_gvt_update_reg_whitelist`).
 */

import { bytesToPageEnd, CACHELINE_BYTES, copyWords, PAGE_SIZE } from "../hw/memory.ts";
import { ENGINES } from "../hw/engines.ts";
import { RCS } from "../hw/regs.ts";
import { emitBatchBufferStart } from "../cmd/encode.ts";
import {
  cmdLength,
  COMMANDS,
  decode,
  header,
  ID,
  X_BB_END,
  X_BB_START,
  X_DISPLAY_FLIP,
  X_USER_INTERRUPT,
} from "../cmd/table.ts";
import type { Platform } from "../hw/platform.ts";
import type { MptGate } from "../mpt/gate.ts";
import {
  BB_2ND_LEVEL,
  BB_PPGTT,
  CMD_GMA,
  flipPrimaryPipe,
  flipSurface,
  putCmdAddress,
} from "../cmd/fields.ts";
import { isSet } from "../hw/bits.ts";
import {
  auditCommand,
  type AuditEnv,
  AuditVerdict,
  batchTarget,
  BUF_BB1,
  BUF_BB2,
  BUF_CTX,
  BUF_RING,
} from "./cmd_audit.ts";
import { LRC_STATE_PN, RING_CTX_DWORDS, writeEngineContext } from "../hw/context.ts";
import type { HostMemory } from "../hw/memory.ts";
import { VIOLATION_KINDS, type ViolationKind } from "./counters.ts";
import type { HostBuffer, HostGm } from "./host_gm.ts";
import {
  entryPresent,
  GEN8_PDE_PS_2M,
  legacyPdpIndex,
  LEVEL_PD,
  LEVEL_PT,
  pteFrame,
  ptIndex,
} from "../hw/pte.ts";
import type { PpgttMm, ShadowPage } from "./ppgtt.ts";
import type { Vgpu } from "./vgpu_state.ts";

export { MAX_SURFACE_SIZE } from "./cmd_audit.ts";
/** Largest batch buffer followed (dwords). */
export const MAX_BATCH_DWORDS = 1 << 20;
const NOOP = header(ID.MI_NOOP, 1);
/** Dwords of the MI_BATCH_BUFFER_START `combine_wa_ctx` appends. */
const BB_START_DWORDS = 3;

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
  /**
   * The shadow of the render context's indirect-context workaround batch, with the
   * per-context batch start appended (`wa_ctx.indirect_ctx.obj`; null: none).
   */
  waCtx: HostBuffer | null = null;
  /** Where the per-context workaround batch's shadow starts (`wa_ctx.per_ctx.shadow_gma`). */
  perCtxShadowGma = 0;
  /** Human-readable detail of the violation. */
  detail = "";
  /** The upstream function whose rule the violation broke. */
  rule = "";

  /** Clears for reuse. */
  reset(): void {
    this.ring = null;
    this.ringDwords = 0;
    this.waCtx = null;
    this.perCtxShadowGma = 0;
    this.batches.length = 0;
    this.userInterrupts = 0;
    this.flips.length = 0;
    this.costNs = 0;
    this.violation = -1;
    this.detail = "";
    this.rule = "";
  }
}

/** Register-access predicate: is this BAR0 offset writable by commands? */
export type CmdAccessCheck = (offset: number) => boolean;

/**
 * The scanned copies of the buffers in the chain being shadowed, by nesting depth (ring 0),
 * reused scan after scan. Scratch space outside every world: a scan ends within one call,
 * and a checkpoint does not carry it.
 */
const COPIES: Uint32Array[] = [];

/** The command scanner. */
export class Scanner implements AuditEnv {
  private stage = new Uint32Array(4096);
  /** Nesting depth of the buffer being shadowed (ring 0): which of {@link COPIES} it uses. */
  private depth = 0;
  private readonly page = new Uint8Array(PAGE_SIZE);
  private readonly pageWords = new Uint32Array(this.page.buffer);
  private res: ScanResult = new ScanResult();
  private vgpu: Vgpu | null = null;
  private mm: PpgttMm | null = null;
  private readonly verdict = new AuditVerdict();
  /** Engine of the scan in progress. */
  engine = 0;

  /**
   * Creates a Scanner.
   * @param gate MPT gate (guest memory reads)
   * @param hostGm host graphics memory for shadow buffers
   * @param cmdAccess the CMD_ACCESS whitelist
   * @param platform the platform (whitelist and Broadwell rules)
   * @param options options and costs
   */
  constructor(
    private readonly gate: MptGate,
    private readonly hostGm: HostGm,
    private readonly cmdAccess: CmdAccessCheck,
    readonly platform: Platform,
    readonly options: ScanOptions,
  ) {}

  /** {@inheritDoc AuditEnv.cmdAccessible} */
  cmdAccessible(offset: number): boolean {
    return this.cmdAccess(offset);
  }

  /** {@inheritDoc AuditEnv.inSlices} */
  inSlices(gma: number, size: number): boolean {
    return this.vgpu!.gmaInSlices(gma, size);
  }

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
    this.begin(out, v, engine, mm);
    const bytes = tail >= head ? tail - head : ringSize - head + tail;
    const dwords = bytes >>> 2;
    this.ensureStage(dwords);
    // Copy the ring range (with wrap-around) through the virtual GGTT.
    let copied = 0;
    while (copied < dwords) {
      const off = (head + copied * 4) % ringSize;
      const n = Math.min(
        dwords - copied,
        (ringSize - off) >>> 2,
        bytesToPageEnd(off) >>> 2,
      );
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
    this.depth = 0;
    const ringCopy = this.copyOfStage(dwords);
    if (!this.scanBuffer(ringCopy, dwords, BUF_RING)) return out;
    this.hostGm.writeDwords(ring, 0, ringCopy, dwords);
    return out;
  }

  /**
   * `intel_gvt_scan_engine_context`: scans the engine context of vGPU `v`'s shadow context
   * image `img` on `engine` (its `pages` pages in host memory `mem`), just filled from the
   * guest's: from dword {@link RING_CTX_DWORDS} of the register-state page (the ring context
   * before it is the mediator's) to the first MI_BATCH_BUFFER_END or the image's end, with
   * the ring's rules, into `out` (the workload's scan). Patches are written back into the
   * image. False on a violation (recorded in `out`, its shadows freed).
   */
  scanEngineContext(
    v: Vgpu,
    engine: number,
    mem: HostMemory,
    img: HostBuffer,
    pages: number,
    out: ScanResult,
  ): boolean {
    this.begin(out, v, engine, null);
    const len = this.fetchContext(mem, img, pages);
    this.depth = 0;
    const copy = this.copyOfStage(len);
    if (!this.scanBuffer(copy, len, BUF_CTX)) return false;
    for (let p = LRC_STATE_PN, at = 0; at < len; p++) {
      const from = p === LRC_STATE_PN ? RING_CTX_DWORDS : 0, n = Math.min(len - at, 1024 - from);
      let dst = mem.peek(img.mfns[p]); // only patched dwords are written
      for (let i = 0; i < n; i++) {
        const x = copy[at + i];
        if ((dst === null ? 0 : dst[from + i]) !== x) (dst ??= mem.page(img.mfns[p]))[from + i] = x;
      }
      at += n;
    }
    return true;
  }

  /**
   * Copies the engine context of `img` (from the register-state page's dword
   * {@link RING_CTX_DWORDS}) into the stage, page by page, up to and including its first
   * MI_BATCH_BUFFER_END, an undecodable dword (for the scan to report) or the image's end;
   * returns its length in dwords.
   */
  private fetchContext(mem: HostMemory, img: HostBuffer, pages: number): number {
    let have = 0, ip = 0, p = LRC_STATE_PN;
    const engine = this.engine;
    for (;;) {
      while (ip >= have) {
        if (p >= pages) return have;
        const from = p === LRC_STATE_PN ? RING_CTX_DWORDS : 0;
        this.ensureStage(have + 1024 - from);
        const src = mem.peek(img.mfns[p++]); // null: never written, reads as zeros
        if (src === null) this.stage.fill(0, have, have + 1024 - from);
        else copyWords(this.stage, have, src, from, 1024 - from);
        have += 1024 - from;
      }
      const dw0 = this.stage[ip];
      const id = decode(dw0, engine);
      if (id < 0 || COMMANDS[id].exec === X_BB_END) return ip + 1;
      ip += cmdLength(id, dw0);
    }
  }

  /**
   * `intel_gvt_scan_and_shadow_wa_ctx` for a render workload whose indirect-context batch
   * (`size` bytes at graphics address `gma`) is present: copies it through the GGTT into a
   * host buffer of round_up(size + 64, 4 KiB) (`shadow_indirect_ctx`), appends an
   * MI_BATCH_BUFFER_START to the per-context batch at `perCtxGma` when `perCtxValid`
   * (`combine_wa_ctx`), checks the buffer's range and scans it as a ring (`scan_wa_ctx`),
   * which follows and shadows the per-context batch; then takes the per-context batch's shadow
   * address from that start and clears it (`prepare_shadow_wa_ctx`). Into `out` (after the
   * ring's scan); false on a violation (its shadows freed).
   */
  scanWaCtx(
    v: Vgpu,
    gma: number,
    size: number,
    perCtxGma: number,
    perCtxValid: boolean,
    out: ScanResult,
  ): boolean {
    this.begin(out, v, RCS, null);
    const dwords = size >>> 2, len = dwords + BB_START_DWORDS;
    this.ensureStage(len);
    for (let at = 0; at < dwords;) {
      const n = Math.min(dwords - at, bytesToPageEnd(gma + at * 4) >>> 2);
      if (!this.readGgtt(gma + at * 4, n, at)) {
        const rule = "cmd_parser.c shadow_indirect_ctx";
        this.fail("address", `indirect context at ${hex(gma + at * 4)} not readable`, rule);
        return false;
      }
      at += n;
    }
    this.stage.fill(0, dwords, len);
    if (perCtxValid) emitBatchBufferStart(this.stage, dwords, perCtxGma, false);
    const bytes = Math.ceil((size + CACHELINE_BYTES) / PAGE_SIZE) * PAGE_SIZE;
    if (!v.gmaInSlices(gma, bytes)) {
      const rule = "cmd_parser.c scan_wa_ctx";
      this.fail("wa_ctx_range", `indirect context at ${hex(gma)} (+${bytes}) outside slices`, rule);
      return false;
    }
    out.costNs += this.options.nsPerBatch + (bytes / PAGE_SIZE) * this.options.nsPerPage;
    const host = this.hostGm.alloc(bytes / PAGE_SIZE);
    if (!host) {
      this.fail("address", "no host memory for the indirect context");
      return false;
    }
    out.waCtx = host;
    this.depth = 0;
    const copy = this.copyOfStage(len);
    if (!this.scanBuffer(copy, len, BUF_RING)) return false;
    if (perCtxValid) out.perCtxShadowGma = copy[dwords + 1];
    copy.fill(0, dwords, len);
    this.hostGm.writeDwords(host, 0, copy, len);
    return true;
  }

  /** Starts a scan of vGPU `v`'s buffers on `engine` (PPGTT `mm`) into `out`. */
  private begin(out: ScanResult, v: Vgpu, engine: number, mm: PpgttMm | null): void {
    this.res = out;
    this.vgpu = v;
    this.engine = engine;
    this.mm = mm;
  }

  /** Frees every shadow buffer of a result. */
  release(r: ScanResult): void {
    if (r.ring) this.hostGm.free(r.ring);
    if (r.waCtx) this.hostGm.free(r.waCtx);
    for (const b of r.batches) this.hostGm.free(b);
    r.ring = null;
    r.waCtx = null;
    r.batches.length = 0;
  }

  /** Records the first violation, counts it and frees the shadows made so far. */
  private fail(kind: ViolationKind, detail: string, rule = ""): ScanResult {
    const r = this.res;
    if (r.violation < 0) {
      r.violation = VIOLATION_KINDS.indexOf(kind);
      r.detail = detail;
      r.rule = rule;
      this.vgpu!.counters.violations[r.violation]++;
    }
    this.release(r);
    return r;
  }

  /**
   * The stage's first `n` dwords, copied into the reused buffer of the current depth (the
   * parent's copy stays intact while a batch it starts is fetched and scanned).
   */
  private copyOfStage(n: number): Uint32Array {
    let c = COPIES[this.depth];
    if (c === undefined || c.length < n) {
      c = new Uint32Array(Math.max(n, 2 * (c?.length ?? 512)));
      COPIES[this.depth] = c;
    }
    copyWords(c, 0, this.stage, 0, n);
    return c;
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
    if (this.gate.readGpa(v.id, gfn * PAGE_SIZE, this.page) < 0) return false;
    copyWords(this.stage, at, this.pageWords, (gma % PAGE_SIZE) >>> 2, n);
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
      spt = mm.roots[legacyPdpIndex(gma)];
      level = LEVEL_PD;
    }
    while (spt) {
      const idx = ptIndex(gma, level);
      const e = spt.guest[idx];
      if (!entryPresent(e)) return -1;
      if (level === LEVEL_PT) {
        if (spt.ips64k) return pteFrame(spt.guest[idx & ~15]) + (idx & 15);
        return pteFrame(e);
      }
      if (level === LEVEL_PD && (e & GEN8_PDE_PS_2M) !== 0) {
        return pteFrame(e) + ptIndex(gma, LEVEL_PT);
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
    if (this.gate.readGpa(this.vgpu!.id, gfn * PAGE_SIZE, this.page) < 0) return false;
    copyWords(this.stage, at, this.pageWords, (gma % PAGE_SIZE) >>> 2, n);
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
        const n = bytesToPageEnd(a) >>> 2;
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
      if (x === X_BB_START && !isSet(dw0, BB_2ND_LEVEL)) {
        // chained batch: this buffer ends at the start command
        while (ip + len > have) {
          const a = gma + have * 4;
          const n = bytesToPageEnd(a) >>> 2;
          this.ensureStage(have + n + 16);
          if (!(ppgtt ? this.readPpgtt(a, n, have) : this.readGgtt(a, n, have))) return -1;
          have += n;
        }
        return ip + len;
      }
      ip += len;
    }
  }

  /**
   * Scans `buf[0..len)` (a copy being shadowed into `host`), patching it in place.
   * Returns false on a violation.
   */
  private scanBuffer(buf: Uint32Array, len: number, type: number): boolean {
    const v = this.vgpu!;
    const engine = this.engine;
    const c = v.counters;
    const verdict = this.verdict;
    let ip = 0;
    let cmds = 0;
    while (ip < len) {
      const dw0 = buf[ip];
      const id = decode(dw0, engine);
      if (id < 0) {
        this.fail(
          "unknown_command",
          `unknown command ${hex(dw0)} on engine ${engine}`,
          "cmd_parser.c cmd_parser_exec",
        );
        return false;
      }
      const info = COMMANDS[id];
      const n = cmdLength(id, dw0);
      cmds++;
      if (ip + n > len && info.exec !== X_BB_END) {
        this.fail(
          "ring_overrun",
          `${info.name} runs past the end of its buffer`,
          "cmd_parser.c command_scan",
        );
        return false;
      }
      if (!auditCommand(buf, ip, n, id, type, this, verdict)) {
        this.fail(verdict.kind!, verdict.detail, verdict.rule);
        return false;
      }
      switch (info.exec) {
        case X_USER_INTERRUPT:
          buf[ip] = NOOP;
          this.res.userInterrupts++;
          break;
        case X_DISPLAY_FLIP: {
          // Only primary planes are modelled; a sprite flip is dropped with the command.
          const pipe = flipPrimaryPipe(buf[ip]);
          if (pipe >= 0) this.res.flips.push(pipe, flipSurface(buf[ip + 2]));
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
          if (!this.startBatch(buf, ip, n)) return false;
          if (type !== BUF_RING && !isSet(dw0, BB_2ND_LEVEL)) {
            ip = len; // chained: this buffer ends here
            continue;
          }
          break;
      }
      ip += n;
    }
    c.cmdsScanned[engine] += cmds;
    c.dwordsScanned[engine] += len;
    this.res.costNs += len * this.options.nsPerDword;
    return true;
  }

  /**
   * Follows MI_BATCH_BUFFER_START at buf[ip] (already audited); patches it to the shadow
   * copy.
   */
  private startBatch(buf: Uint32Array, ip: number, n: number): boolean {
    const dw0 = buf[ip];
    const second = isSet(dw0, BB_2ND_LEVEL);
    const gma = batchTarget(buf, ip, n);
    const ppgtt = isSet(dw0, BB_PPGTT);
    if (ppgtt && !this.options.scanPpgttBatches) return true;
    // The parent buffer is a copy, so fetching may reuse the stage.
    const len = this.fetchBatch(gma, ppgtt);
    if (len < 0) {
      const rule = "cmd_parser.c perform_bb_shadow";
      this.fail("address", `batch buffer at ${hex(gma)} not readable`, rule);
      return false;
    }
    const shadow = this.res.batches.length; // where its shadow buffer goes, if it gets one
    this.depth++;
    const ok = this.shadowBatch(len, second, ppgtt);
    this.depth--;
    if (!ok) return false;
    if (ppgtt) return true; // non-privileged: executed from the PPGTT as submitted
    const host = this.res.batches[shadow];
    if (n > 2) putCmdAddress(buf, ip + 1, host.gma, CMD_GMA);
    else buf[ip + 1] = host.gma >>> 0;
    return true;
  }

  /**
   * Copies the fetched batch (`len` dwords in the stage) for scanning and, when privileged,
   * into a new shadow buffer (appended to {@link ScanResult.batches}); false on a violation.
   */
  private shadowBatch(len: number, second: boolean, ppgtt: boolean): boolean {
    const copy = this.copyOfStage(len);
    const pages = Math.max(1, Math.ceil(len / 1024));
    this.res.costNs += this.options.nsPerBatch + pages * this.options.nsPerPage;
    if (ppgtt) {
      // Non-privileged batch: scanned in place, executed from the PPGTT as submitted.
      return this.scanBuffer(copy, len, second ? BUF_BB2 : BUF_BB1);
    }
    const host = this.hostGm.alloc(pages);
    if (!host) {
      this.fail("address", "no host memory for a shadow batch buffer");
      return false;
    }
    this.res.batches.push(host);
    this.vgpu!.counters.batchesShadowed++;
    if (!this.scanBuffer(copy, len, second ? BUF_BB2 : BUF_BB1)) return false;
    this.hostGm.writeDwords(host, 0, copy, len);
    return true;
  }
}

/**
 * `intel_gvt_update_reg_whitelist` (done once per host, when its first vGPU is created):
 * scans the engine context of each engine's default context image (core/hw/context.ts
 * `writeEngineContext`) as an init context (`is_init_ctx`), so every register it loads
 * becomes command-accessible through `allow` (`intel_gvt_mmio_set_cmd_accessible`). False
 * if a command could not be decoded or audited (upstream logs "Scan init ctx error" and
 * tries again at the next vGPU's creation).
 */
export function updateRegWhitelist(platform: Platform, allow: (offset: number) => void): boolean {
  const state = new Uint32Array(PAGE_SIZE >>> 2), verdict = new AuditVerdict();
  for (const e of ENGINES) {
    if (!platform.engines.includes(e.name)) continue;
    writeEngineContext(state, e.id, platform.gen);
    const env: AuditEnv = {
      platform,
      engine: e.id,
      cmdAccessible: () => true,
      inSlices: () => true,
      initCtx: allow,
    };
    for (let ip = RING_CTX_DWORDS; ip < state.length;) {
      const id = decode(state[ip], e.id);
      if (id < 0) return false;
      if (COMMANDS[id].exec === X_BB_END) break;
      const n = cmdLength(id, state[ip]);
      verdict.reset();
      if (!auditCommand(state, ip, n, id, BUF_CTX, env, verdict)) return false;
      ip += n;
    }
  }
  return true;
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}
