/**
 * The conformance kit: checks any hypervisor backend against the mediator's contract, op by
 * op, through the real loader ({@link loadBackend}) and the real {@link MptGate}, with a small
 * stand-in for the GVT-g core (a byte-addressed BAR0 register file, a config space whose MSI
 * capability sits at 0xac, a log of write-protect callbacks).
 *
 * Every check runs on a fresh rig (simulation, host memory, guest memory with a hole, backend
 * context, a freshly created backend, gate) so one failure cannot mask another. A check has
 * the op it exercises, a name, and on failure a precise reason with the values seen. The kit
 * never branches on which backend it is testing: it only uses the contract (core/mpt/types.ts)
 * and what the gate reports (`nativeOps`, errors, costs).
 *
 * A second stage (short scenario runs) plugs in through {@link ConformanceOptions.extraChecks}.
 */

import { Sim } from "../sim/sim.ts";
import { HostMemory } from "../hw/memory.ts";
import { GuestMemory } from "../guest/memory.ts";
import { SimBackendContext } from "./context.ts";
import { errorMessage, isLoadError, loadBackend } from "./loader.ts";
import { MPT_OP_NAMES, MptGate, type NativeOps } from "./gate.ts";
import type { GvtOps, Handle, MptBackend, VgpuInfo } from "./types.ts";
import { MPT_OK } from "./types.ts";

export type { NativeOps } from "./gate.ts";

/** One check's outcome. */
export interface CheckResult {
  /** The MPT op (or area, e.g. "costs") the check exercises. */
  op: string;
  /** Short name of the property checked. */
  check: string;
  /** True if the backend honours the property. */
  ok: boolean;
  /** Why it failed (values seen vs expected); empty when it passed. */
  reason: string;
}

/** The result of {@link runConformance}. */
export interface ConformanceReport {
  /** The plugin spec as given. */
  plugin: string;
  /** Loader label (`file (name)`), or the spec when loading failed. */
  label: string;
  /** False if the plugin could not be loaded (then `checks` is empty). */
  loaded: boolean;
  /** The loader's problems, one per line, when `loaded` is false. */
  loadError: string;
  /** Every check, in order. */
  checks: CheckResult[];
  /** Checks passed. */
  passed: number;
  /** Checks failed. */
  failed: number;
  /** Optional ops the backend implements natively vs those the gate covers generically. */
  nativeOps: NativeOps;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** Base for relative plugin paths (default: the current directory). */
  base?: string | URL;
  /** Backend parameters passed to the factory (as a scenario would). */
  params?: Readonly<Record<string, number | string | boolean>>;
  /**
   * More checks to run after the op-by-op ones (e.g. short scenario runs under the world
   * runner). An exception becomes one failed check named `extraChecks`.
   */
  extraChecks?: (spec: string | URL) => Promise<CheckResult[]>;
}

/** Guest-physical layout of the kit's test VMs. */
export const CONFORMANCE_LAYOUT = {
  /** BAR0 base (16 MiB of MMIO registers + GTT). */
  bar0: 0xf000_0000,
  /** BAR2 base (aperture). */
  bar2: 0xe000_0000,
  /** Config-space (ECAM) window. */
  cfg: 0xd000_0000,
  /** Guest RAM (bytes). */
  ram: 16 * 1024 * 1024,
  /** An unbacked range of guest frames [start, end) (an MMIO hole). */
  hole: [2048, 2304] as const,
} as const;

const PAGE = 4096;
const BAR0_SIZE = 16 * 1024 * 1024;
const GTT_OFF = 8 * 1024 * 1024;
const MSI_CAP = 0xac;
const MSI_CTL = MSI_CAP + 2;
const SETTLE_NS = 10_000_000;
const VGPU = 1;

/** A trapped access the stand-in core saw. */
interface SeenAccess {
  id: number;
  off: number;
  size: number;
  value: number;
}

/** The stand-in GVT-g core the kit hands the backend in `hostInit`. */
class KitCore implements GvtOps {
  readonly reads: SeenAccess[] = [];
  readonly writes: SeenAccess[] = [];
  readonly wp: SeenAccess[] = [];
  readonly regs = new Map<number, number>();
  readonly cfg = new Uint8Array(256);

  constructor() {
    this.cfg[0x34] = 0x40; // capability list: PM at 0x40 -> MSI at 0xac
    this.cfg[0x40] = 0x01;
    this.cfg[0x41] = MSI_CAP;
    this.cfg[MSI_CAP] = 0x05;
  }

  emulateMmioRead(id: number, off: number, size: number): number {
    this.reads.push({ id, off, size, value: 0 });
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.regs.get(off + i) ?? 0);
    return v;
  }

  emulateMmioWrite(id: number, off: number, size: number, value: number): void {
    this.writes.push({ id, off, size, value });
    let x = value;
    for (let i = 0; i < size; i++) {
      this.regs.set(off + i, x % 256);
      x = Math.floor(x / 256);
    }
  }

  emulateCfgRead(_id: number, off: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + (this.cfg[off + i] ?? 0);
    return v;
  }

  emulateCfgWrite(_id: number, off: number, size: number, value: number): void {
    let x = value;
    for (let i = 0; i < size && off + i < this.cfg.length; i++) {
      if (off + i !== MSI_CAP && off + i !== MSI_CAP + 1) this.cfg[off + i] = x & 0xff;
      x = Math.floor(x / 256);
    }
  }

  writeProtectHandler(id: number, gpa: number, size: number, value: number): void {
    this.wp.push({ id, off: gpa, size, value });
  }
}

/** One wired test rig. */
interface KitRig {
  sim: Sim;
  host: HostMemory;
  mem: GuestMemory;
  ctx: SimBackendContext;
  gate: MptGate;
  core: KitCore;
  backend: MptBackend;
  handles: Handle[];
  msis: { addr: number; data: number; at: number }[];
}

/** The VgpuInfo of the kit's vGPU. */
function kitVgpu(id: number): VgpuInfo {
  const L = CONFORMANCE_LAYOUT;
  return { id, vm: `conf${id}`, memory: L.ram, vcpus: 2, bar0: L.bar0, bar2: L.bar2, cfg: L.cfg };
}

/** The failure of a check. */
class CheckFailed {
  constructor(readonly reason: string) {}
}

function expect(cond: boolean, reason: string): void {
  if (!cond) throw new CheckFailed(reason);
}

function hex(n: number): string {
  return n < 0 ? String(n) : `0x${n.toString(16)}`;
}

/**
 * Runs the conformance kit on one plugin (built-in name, path or file URL). Never throws:
 * a plugin that cannot be loaded gives a report with `loaded: false`.
 */
export async function runConformance(
  pluginSpec: string | URL,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const specText = String(pluginSpec);
  const report: ConformanceReport = {
    plugin: specText,
    label: specText,
    loaded: false,
    loadError: "",
    checks: [],
    passed: 0,
    failed: 0,
    nativeOps: { native: [], fallback: [] },
  };
  const rigs: KitRig[] = [];

  const makeRig = async (attach = true): Promise<KitRig> => {
    const sim = new Sim(1);
    const host = new HostMemory(64 * 1024 * 1024);
    const L = CONFORMANCE_LAYOUT;
    const mem = new GuestMemory(host, VGPU, L.ram, { holes: [[L.hole[0], L.hole[1]]] });
    const ctx = new SimBackendContext(sim, options.params ?? {});
    ctx.setGuestMemory(VGPU, mem);
    const msis: KitRig["msis"] = [];
    ctx.setMsiReceiver(VGPU, { onMsi: (addr, data) => msis.push({ addr, data, at: sim.now }) });
    const loaded = await loadBackend(pluginSpec, ctx, options.base);
    if (isLoadError(loaded)) throw new LoadFailed(loaded.message);
    ctx.label = loaded.label;
    report.label = loaded.label;
    const handles: Handle[] = [];
    const spy = spyBackend(loaded.backend, handles);
    const gate = new MptGate(sim, spy, loaded.label, [], { charged: ctx });
    const core = new KitCore();
    const r: KitRig = { sim, host, mem, ctx, gate, core, backend: loaded.backend, handles, msis };
    rigs.push(r);
    gate.hostInit(core);
    if (attach) gate.attachVgpu(kitVgpu(VGPU));
    return r;
  };

  try {
    const first = await makeRig(false);
    report.loaded = true;
    report.nativeOps = first.gate.nativeOps();
  } catch (e) {
    report.loadError = e instanceof LoadFailed ? e.message : errorMessage(e);
    return report;
  }

  const run = async (op: string, check: string, body: () => Promise<void> | void) => {
    try {
      await body();
      report.checks.push({ op, check, ok: true, reason: "" });
    } catch (e) {
      const reason = e instanceof CheckFailed ? e.reason : `kit error: ${errorMessage(e)}`;
      report.checks.push({ op, check, ok: false, reason });
    }
  };

  await run("hostInit", "registers the backend", async () => {
    const r = await makeRig(false);
    expect(r.gate.hostInit(new KitCore()), "hostInit failed (returned false through the gate)");
  });

  await run("attachVgpu", "returns a handle", async () => {
    const r = await makeRig(false);
    expect(r.gate.attachVgpu(kitVgpu(VGPU)), "attachVgpu failed (see the errors below)");
    expect(r.gate.isAttached(VGPU), "vGPU not attached after attachVgpu");
    if (typeof r.backend.attachVgpu === "function") {
      const h = r.handles[0];
      expect(
        h !== undefined && h !== null,
        `attachVgpu returned ${String(h)}, expected a per-vGPU handle`,
      );
    }
  });

  await run("detachVgpu", "releases everything", async () => {
    const r = await makeRig();
    const gfn = 40;
    const dma = r.gate.dmaMapGuestPage(VGPU, gfn, PAGE);
    expect(dma >= 0, `dmaMapGuestPage(gfn ${gfn}) = ${dma} before detach, expected an address`);
    expect(r.gate.enablePageTrack(VGPU, gfn + 1) === MPT_OK, "enablePageTrack failed");
    r.gate.detachVgpu(VGPU);
    expect(!r.gate.isAttached(VGPU), "still attached after detachVgpu");
    expect(r.gate.attachVgpu(kitVgpu(VGPU)), "re-attach after detach failed");
    r.gate.guestMemWrite(VGPU, (gfn + 1) * PAGE, 4, 0x5a5a5a5a);
    expect(
      r.core.wp.length === 0,
      `a write to gfn ${gfn + 1}, tracked before detach, trapped after re-attach`,
    );
    expect(
      r.mem.readSized((gfn + 1) * PAGE, 4) === 0x5a5a5a5a,
      `the write to gfn ${gfn + 1} after re-attach did not land in guest memory`,
    );
    if (r.gate.nativeOps().native.includes("dmaPinGuestPage")) {
      const p = r.gate.dmaPinGuestPage(VGPU, dma);
      expect(
        p < 0,
        `dmaPinGuestPage(${hex(dma)}) = ${p} after detach + re-attach: the mapping of ` +
          `gfn ${gfn} survived detach (expected a negative errno)`,
      );
    }
  });

  await run("detachVgpu", "double detach is safe", async () => {
    const r = await makeRig();
    const h = r.handles[0];
    r.gate.detachVgpu(VGPU);
    try {
      r.backend.detachVgpu?.(h);
    } catch (e) {
      throw new CheckFailed(`a second detachVgpu of the same handle threw: ${errorMessage(e)}`);
    }
  });

  await run("dmaMapGuestPage", "stable address per gfn, distinct per gfn, own page", async () => {
    const r = await makeRig();
    const a1 = r.gate.dmaMapGuestPage(VGPU, 100, PAGE);
    const a2 = r.gate.dmaMapGuestPage(VGPU, 100, PAGE);
    const b = r.gate.dmaMapGuestPage(VGPU, 101, PAGE);
    expect(a1 >= 0 && b >= 0, `dmaMapGuestPage(gfn 100/101) = ${a1}/${b}, expected addresses`);
    expect(a1 === a2, `gfn 100 mapped twice gave ${hex(a1)} then ${hex(a2)}, expected equal`);
    expect(a1 !== b, `gfns 100 and 101 both map to ${hex(a1)}, expected distinct addresses`);
    expect(a1 % PAGE === 0, `DMA address ${hex(a1)} is not page aligned`);
    const owner = r.host.ownerOf(Math.floor(a1 / PAGE));
    expect(
      owner === VGPU,
      `DMA address ${hex(a1)} of gfn 100 is host frame ${Math.floor(a1 / PAGE)} owned by ` +
        `${owner}, not by the VM (owner ${VGPU})`,
    );
    expect(
      Math.floor(a1 / PAGE) === r.mem.residentMfn(100),
      `DMA address ${hex(a1)} is not the frame backing gfn 100 (mfn ${r.mem.residentMfn(100)})`,
    );
  });

  await run("dmaUnmapGuestPage", "map/pin/unmap balance (refcounts return to zero)", async () => {
    const r = await makeRig();
    const gfn = 120;
    const a = r.gate.dmaMapGuestPage(VGPU, gfn, PAGE);
    expect(a >= 0, `dmaMapGuestPage(gfn ${gfn}) = ${a}, expected an address`);
    expect(r.gate.dmaMapGuestPage(VGPU, gfn, PAGE) === a, "second map gave another address");
    const pin = r.gate.dmaPinGuestPage(VGPU, a);
    expect(pin === MPT_OK, `dmaPinGuestPage(${hex(a)}) = ${pin} on a live mapping, expected 0`);
    r.gate.dmaUnmapGuestPage(VGPU, a);
    r.gate.dmaUnmapGuestPage(VGPU, a);
    if (r.gate.nativeOps().native.includes("dmaPinGuestPage")) {
      const again = r.gate.dmaPinGuestPage(VGPU, a);
      expect(
        again === MPT_OK,
        `dmaPinGuestPage(${hex(a)}) = ${again} with one reference left (2 maps + 1 pin - 2 ` +
          `unmaps), expected 0: the mapping was released too early`,
      );
      r.gate.dmaUnmapGuestPage(VGPU, a);
    }
    r.gate.dmaUnmapGuestPage(VGPU, a);
    if (r.gate.nativeOps().native.includes("dmaPinGuestPage")) {
      const late = r.gate.dmaPinGuestPage(VGPU, a);
      expect(
        late < 0,
        `dmaPinGuestPage(${hex(a)}) = ${late} after every map and pin was unmapped: the ` +
          `refcount of gfn ${gfn} did not return to zero (leak), expected a negative errno`,
      );
    }
    const fresh = r.gate.dmaMapGuestPage(VGPU, gfn, PAGE);
    expect(fresh >= 0, `mapping gfn ${gfn} again after full release = ${fresh}`);
    r.gate.dmaUnmapGuestPage(VGPU, fresh);
  });

  await run("dmaPinGuestPage", "pin of an unknown address fails", async () => {
    const r = await makeRig();
    const p = r.gate.dmaPinGuestPage(VGPU, 0x7fff_f000);
    expect(p < 0, `dmaPinGuestPage(0x7ffff000) = ${p} for an address never mapped`);
  });

  await run("enablePageTrack", "trapped writes reach writeProtectHandler, not memory", async () => {
    const r = await makeRig();
    const gfn = 300, gpa = gfn * PAGE + 0x18;
    r.mem.writeSized(gpa, 4, 0x11111111);
    const e = r.gate.enablePageTrack(VGPU, gfn);
    expect(e === MPT_OK, `enablePageTrack(gfn ${gfn}) = ${e}, expected 0`);
    r.gate.guestMemWrite(VGPU, gpa, 4, 0xcafe0001);
    const w = r.core.wp;
    expect(w.length === 1, `${w.length} writeProtectHandler calls for one tracked write`);
    expect(
      w[0].id === VGPU && w[0].off === gpa && w[0].size === 4 && w[0].value === 0xcafe0001,
      `writeProtectHandler got (vgpu ${w[0].id}, gpa ${hex(w[0].off)}, size ${w[0].size}, ` +
        `value ${hex(w[0].value)}), expected (${VGPU}, ${hex(gpa)}, 4, 0xcafe0001)`,
    );
    const now = r.mem.readSized(gpa, 4);
    expect(
      now === 0x11111111,
      `guest memory at ${hex(gpa)} is ${hex(now)} after a trapped write: the backend did ` +
        `the write itself (the core applies it)`,
    );
  });

  await run("disablePageTrack", "plain writes land in memory once disabled", async () => {
    const r = await makeRig();
    const gfn = 310, gpa = gfn * PAGE + 0x40;
    r.gate.guestMemWrite(VGPU, gpa, 8, 0x1234_5678_9a);
    expect(r.core.wp.length === 0, "a write to a never-tracked page reached the handler");
    expect(
      r.mem.readSized(gpa, 8) === 0x1234_5678_9a,
      `an untracked write did not land in memory (read ${hex(r.mem.readSized(gpa, 8))})`,
    );
    expect(r.gate.enablePageTrack(VGPU, gfn) === MPT_OK, "enablePageTrack failed");
    const d = r.gate.disablePageTrack(VGPU, gfn);
    expect(d === MPT_OK, `disablePageTrack(gfn ${gfn}) = ${d}, expected 0`);
    r.gate.guestMemWrite(VGPU, gpa, 4, 0xdeadbeef);
    expect(
      r.core.wp.length === 0,
      `a write to gfn ${gfn} after disablePageTrack reached writeProtectHandler`,
    );
    const v = r.mem.readSized(gpa, 4);
    expect(v === 0xdeadbeef, `write after disablePageTrack not in memory (read ${hex(v)})`);
  });

  await run("readGpa", "round trip across a page boundary", async () => {
    const r = await makeRig();
    const gpa = 50 * PAGE + 4000;
    const out = new Uint8Array(300);
    for (let i = 0; i < out.length; i++) out[i] = (i * 7 + 3) & 0xff;
    const w = r.gate.writeGpa(VGPU, gpa, out);
    expect(w === MPT_OK, `writeGpa(${hex(gpa)}, 300 bytes) = ${w}, expected 0`);
    const back = new Uint8Array(300);
    const rd = r.gate.readGpa(VGPU, gpa, back);
    expect(rd === MPT_OK, `readGpa(${hex(gpa)}, 300 bytes) = ${rd}, expected 0`);
    const bad = back.findIndex((b, i) => b !== out[i]);
    expect(bad < 0, `byte ${bad} read back as ${back[bad]}, written ${out[bad]}`);
    const direct = new Uint8Array(300);
    r.mem.read(gpa, direct);
    const bad2 = direct.findIndex((b, i) => b !== out[i]);
    expect(bad2 < 0, `writeGpa did not reach guest RAM (byte ${bad2} is ${direct[bad2]})`);
  });

  await run("readGpa", "out-of-range gpa fails cleanly", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    const buf = new Uint8Array(16).fill(0x77);
    const end = r.gate.readGpa(VGPU, L.ram - 8, buf);
    expect(
      end < 0,
      `readGpa(${
        hex(L.ram - 8)
      }, 16 bytes) past the end of RAM = ${end}, expected a negative errno`,
    );
    const hole = r.gate.readGpa(VGPU, L.hole[0] * PAGE, buf);
    expect(
      hole < 0,
      `readGpa in the MMIO hole (gfn ${L.hole[0]}) = ${hole}, expected a negative errno`,
    );
    const neg = r.gate.readGpa(VGPU, -PAGE, buf);
    expect(neg < 0, `readGpa(-4096) = ${neg}, expected a negative errno`);
  });

  await run("writeGpa", "out-of-range gpa fails cleanly", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    const buf = new Uint8Array(16).fill(0x66);
    const end = r.gate.writeGpa(VGPU, L.ram - 8, buf);
    expect(
      end < 0,
      `writeGpa(${
        hex(L.ram - 8)
      }, 16 bytes) past the end of RAM = ${end}, expected a negative errno`,
    );
    const tail = r.mem.readSized(L.ram - 8, 4);
    expect(tail === 0, `a failed writeGpa still wrote the last frame (${hex(tail)})`);
    const hole = r.gate.writeGpa(VGPU, L.hole[0] * PAGE + 8, buf);
    expect(hole < 0, `writeGpa in the MMIO hole = ${hole}, expected a negative errno`);
  });

  await run("isValidGfn", "true for RAM, false for holes and out of range", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    const frames = L.ram / PAGE;
    expect(r.gate.isValidGfn(VGPU, 10), "isValidGfn(10) = false for RAM");
    expect(r.gate.isValidGfn(VGPU, frames - 1), `isValidGfn(${frames - 1}) = false for RAM`);
    expect(!r.gate.isValidGfn(VGPU, L.hole[0]), `isValidGfn(${L.hole[0]}) = true in a hole`);
    expect(!r.gate.isValidGfn(VGPU, frames), `isValidGfn(${frames}) = true past the end`);
    expect(!r.gate.isValidGfn(VGPU, -1), "isValidGfn(-1) = true");
  });

  await run("dmaMapGuestPage", "invalid gfn fails (core falls back to scratch)", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    const a = r.gate.dmaMapGuestPage(VGPU, L.hole[0] + 3, PAGE);
    expect(a < 0, `dmaMapGuestPage(gfn ${L.hole[0] + 3} in a hole) = ${hex(a)}, expected < 0`);
    const b = r.gate.dmaMapGuestPage(VGPU, L.ram / PAGE + 5, PAGE);
    expect(b < 0, `dmaMapGuestPage(gfn past the end) = ${hex(b)}, expected a negative errno`);
  });

  await run("gfnToMfn", "backing frame for RAM, -1 otherwise", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    const m = r.gate.gfnToMfn(VGPU, 77);
    const want = r.mem.mfnOf(77);
    expect(m === want, `gfnToMfn(77) = ${m}, the frame backing gfn 77 is ${want}`);
    const h = r.gate.gfnToMfn(VGPU, L.hole[0]);
    expect(h === -1, `gfnToMfn(${L.hole[0]} in a hole) = ${h}, expected -1`);
  });

  await run("enablePageTrack", "invalid gfn fails", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    const e = r.gate.enablePageTrack(VGPU, L.ram / PAGE + 1);
    expect(e < 0, `enablePageTrack(gfn past the end) = ${e}, expected a negative errno`);
  });

  await run("injectMsi", "dropped while the guest has MSI disabled", async () => {
    const r = await makeRig();
    const ok = r.gate.injectMsi(VGPU, 0xfee00000, 0x41);
    r.sim.runFor(SETTLE_NS);
    expect(
      r.msis.length === 0,
      `an MSI reached the guest (at ${r.msis[0]?.at} ns) although MSI is disabled in its ` +
        `config space`,
    );
    expect(!ok, "injectMsi returned true (delivered) but the MSI was dropped");
  });

  await run("injectMsi", "delivered once the guest enabled MSI", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    r.gate.guestMmioWrite(VGPU, L.cfg + 0x04, 2, 0x0006); // memory + bus master
    r.gate.guestMmioWrite(VGPU, L.cfg + MSI_CAP + 4, 4, 0xfee00000);
    r.gate.guestMmioWrite(VGPU, L.cfg + MSI_CAP + 8, 2, 0x41);
    r.gate.guestMmioWrite(VGPU, L.cfg + MSI_CTL, 2, 0x0001);
    expect(
      (r.core.cfg[MSI_CTL] & 1) === 1,
      "the guest's config write enabling MSI did not reach emulateCfgWrite",
    );
    const ok = r.gate.injectMsi(VGPU, 0xfee00000, 0x41);
    expect(ok, "injectMsi returned false after the guest enabled MSI");
    r.sim.runFor(SETTLE_NS);
    expect(r.msis.length === 1, `${r.msis.length} MSIs reached the guest, expected 1`);
    const m = r.msis[0];
    expect(
      m.addr === 0xfee00000 && m.data === 0x41,
      `guest got MSI (${hex(m.addr)}, ${hex(m.data)}), expected (0xfee00000, 0x41)`,
    );
    r.gate.guestMmioWrite(VGPU, L.cfg + MSI_CTL, 2, 0x0000);
    const after = r.gate.injectMsi(VGPU, 0xfee00000, 0x41);
    r.sim.runFor(SETTLE_NS);
    expect(r.msis.length === 1 && !after, "an MSI was delivered after the guest disabled MSI");
  });

  await run(
    "guestMmioWrite",
    "BAR0 writes reach emulateMmioWrite (offset, size, value)",
    async () => {
      const r = await makeRig();
      const L = CONFORMANCE_LAYOUT;
      r.gate.setTrapArea(VGPU, L.bar0, L.bar0 + BAR0_SIZE, true);
      r.gate.guestMmioWrite(VGPU, L.bar0 + 0x2030, 4, 0x12345678);
      const w = r.core.writes;
      expect(w.length === 1, `${w.length} emulateMmioWrite calls for one 4-byte write`);
      expect(
        w[0].id === VGPU && w[0].off === 0x2030 && w[0].size === 4 && w[0].value === 0x12345678,
        `emulateMmioWrite(${w[0].id}, ${hex(w[0].off)}, ${w[0].size}, ${hex(w[0].value)}), ` +
          `expected (${VGPU}, 0x2030, 4, 0x12345678)`,
      );
      w.length = 0;
      const gtt = GTT_OFF + 0x40, val = 0x12_3456_7001;
      r.gate.guestMmioWrite(VGPU, L.bar0 + gtt, 8, val);
      const bytes = new Map<number, number>();
      for (const a of w) {
        let x = a.value;
        for (let i = 0; i < a.size; i++) {
          bytes.set(a.off + i, x % 256);
          x = Math.floor(x / 256);
        }
      }
      let x = val;
      for (let i = 0; i < 8; i++) {
        expect(
          bytes.get(gtt + i) === x % 256,
          `8-byte GTT write: byte ${i} at offset ${hex(gtt + i)} reached the core as ` +
            `${bytes.get(gtt + i)}, expected ${x % 256}`,
        );
        x = Math.floor(x / 256);
      }
      expect(bytes.size === 8, `8-byte GTT write touched ${bytes.size} bytes in the core`);
    },
  );

  await run("guestMmioRead", "BAR0 reads reach emulateMmioRead (offset, size)", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    r.gate.setTrapArea(VGPU, L.bar0, L.bar0 + BAR0_SIZE, true);
    r.core.emulateMmioWrite(VGPU, 0x44000, 4, 0xa1b2c3d4);
    r.core.writes.length = 0;
    const v = r.gate.guestMmioRead(VGPU, L.bar0 + 0x44000, 4);
    expect(v === 0xa1b2c3d4, `guestMmioRead(BAR0 + 0x44000, 4) = ${hex(v)}, want 0xa1b2c3d4`);
    const rd = r.core.reads;
    expect(
      rd.length === 1 && rd[0].off === 0x44000 && rd[0].size === 4 && rd[0].id === VGPU,
      `emulateMmioRead calls: ${JSON.stringify(rd)}, expected one (${VGPU}, 0x44000, 4)`,
    );
    const half = r.gate.guestMmioRead(VGPU, L.bar0 + 0x44002, 2);
    expect(half === 0xa1b2, `2-byte read at BAR0 + 0x44002 = ${hex(half)}, want 0xa1b2`);
  });

  await run(
    "guestMmioRead",
    "accesses outside BAR0 and config space do not reach the core",
    async () => {
      const r = await makeRig();
      const L = CONFORMANCE_LAYOUT;
      r.gate.setTrapArea(VGPU, L.bar0, L.bar0 + BAR0_SIZE, true);
      r.gate.guestMmioRead(VGPU, L.bar0 + BAR0_SIZE + PAGE, 4);
      r.gate.guestMmioWrite(VGPU, L.bar0 - PAGE, 4, 1);
      expect(
        r.core.reads.length === 0 && r.core.writes.length === 0,
        `accesses outside BAR0 reached the core: ${r.core.reads.length} reads, ` +
          `${r.core.writes.length} writes`,
      );
    },
  );

  await run("optional ops", "callable, return 0 or a negative errno", async () => {
    const r = await makeRig();
    const L = CONFORMANCE_LAYOUT;
    const results: [string, number][] = [
      ["setTrapArea", r.gate.setTrapArea(VGPU, L.bar0, L.bar0 + BAR0_SIZE, true)],
      ["mapGfnToMfn", r.gate.mapGfnToMfn(VGPU, L.bar2 / PAGE, 9000, 128, true)],
      ["mapGfnToMfn(unmap)", r.gate.mapGfnToMfn(VGPU, L.bar2 / PAGE, 9000, 128, false)],
      ["setOpregion", r.gate.setOpregion(VGPU)],
      ["setEdid", r.gate.setEdid(VGPU, 1)],
      ["getVfioDevice", r.gate.getVfioDevice(VGPU)],
    ];
    r.gate.putVfioDevice(VGPU);
    r.gate.vgpuDescheduled(VGPU);
    for (const [name, v] of results) {
      expect(
        Number.isInteger(v) && v <= 0,
        `${name} returned ${v}, expected 0 or a negative errno`,
      );
    }
    const bad = results.find(([, v]) => v !== MPT_OK);
    expect(bad === undefined, `${bad?.[0]} failed with ${bad?.[1]} on valid arguments`);
  });

  await run("costs", "cost model well formed", async () => {
    const r = await makeRig();
    const declared = r.backend.costs as Record<string, unknown>;
    for (const [k, v] of Object.entries(declared)) {
      expect(
        typeof v === "number" && Number.isFinite(v) && v >= 0,
        `declared cost '${k}' is ${String(v)}, expected a non-negative finite number of ns`,
      );
    }
    for (const op of MPT_OP_NAMES) {
      const c = r.gate.costOfOp(op);
      expect(Number.isFinite(c) && c >= 0, `cost charged for '${op}' is ${c}`);
    }
    r.gate.takeCost();
    r.gate.guestMmioRead(VGPU, CONFORMANCE_LAYOUT.bar0, 4);
    r.gate.readGpa(VGPU, PAGE, new Uint8Array(64));
    r.gate.dmaMapGuestPage(VGPU, 12, PAGE);
    const c = r.gate.takeCost();
    expect(Number.isFinite(c) && c >= 0, `three ops charged ${c} ns in total`);
  });

  await run("hostExit", "unregisters cleanly", async () => {
    const r = await makeRig();
    r.gate.detachVgpu(VGPU);
    r.gate.hostExit();
  });

  // every exception a backend op threw during the checks above, per op
  const byOp = new Map<string, { n: number; first: string }>();
  for (const r of rigs) {
    for (const e of r.gate.errors) {
      const o = byOp.get(e.op) ?? { n: 0, first: `${e.plugin}: ${e.message}` };
      o.n++;
      byOp.set(e.op, o);
    }
    for (const t of r.ctx.timerErrors) {
      const o = byOp.get("timer") ?? { n: 0, first: t.message };
      o.n++;
      byOp.set("timer", o);
    }
  }
  if (byOp.size === 0) {
    report.checks.push({ op: "all ops", check: "no exceptions escape", ok: true, reason: "" });
  }
  for (const [op, { n, first }] of byOp) {
    report.checks.push({
      op,
      check: "no exceptions escape",
      ok: false,
      reason: `${n} error(s) recorded by the gate, first: ${first}`,
    });
  }

  if (options.extraChecks !== undefined) {
    try {
      report.checks.push(...await options.extraChecks(pluginSpec));
    } catch (e) {
      report.checks.push({
        op: "extraChecks",
        check: "runs",
        ok: false,
        reason: `threw: ${errorMessage(e)}`,
      });
    }
  }

  for (const c of report.checks) c.ok ? report.passed++ : report.failed++;
  return report;
}

/** Loading failed inside a check. */
class LoadFailed extends Error {}

/** Wraps a backend so the kit sees the handles `attachVgpu` returns (no other change). */
function spyBackend(b: MptBackend, handles: Handle[]): MptBackend {
  return new Proxy(b, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (typeof v !== "function") return v;
      if (key === "attachVgpu") {
        return (info: VgpuInfo) => {
          const h = v.call(target, info);
          handles.push(h);
          return h;
        };
      }
      return v.bind(target);
    },
  });
}

/** Renders a report as a pass/fail table per op with the reason, then a summary. */
export function formatConformance(report: ConformanceReport): string {
  const lines: string[] = [`conformance: ${report.label}`];
  if (!report.loaded) {
    lines.push(`cannot load plugin:`, ...report.loadError.split("\n").map((l) => `  ${l}`));
    return lines.join("\n");
  }
  const rows = report.checks.map((c) => [c.op, c.check, c.ok ? "PASS" : "FAIL", c.reason]);
  const head = ["op", "check", "result", "reason"];
  const w = [0, 1, 2].map((i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}`.trimEnd();
  lines.push(fmt(head), fmt(w.map((n) => "-".repeat(n)).concat(["------"])));
  for (const r of rows) lines.push(fmt(r));
  lines.push(
    "",
    `native optional ops: ${report.nativeOps.native.join(", ") || "(none)"}`,
    `generic fallbacks:   ${report.nativeOps.fallback.join(", ") || "(none)"}`,
    `${report.passed} passed, ${report.failed} failed`,
  );
  return lines.join("\n");
}
