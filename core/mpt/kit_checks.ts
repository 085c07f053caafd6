/**
 * The conformance kit's op-by-op checks, one row per rule: the op it exercises, the rule in
 * words, and a body that builds fresh rigs (core/mpt/kit_rig.ts) and throws
 * {@link CheckFailed} with the values seen when the backend breaks the rule. The rows never
 * branch on which backend they test: only on the contract and what the gate reports.
 *
 * The rules come from the mistakes porting engineers make: state that outlives detach or is
 * shared between vGPUs, 2 MiB DMA mappings over frames the device cannot address as one range,
 * accesses of every size and alignment (straddling the end of BAR0, config writes of every
 * width), exceptions on the trap path, MSI enable transitions, save/restore round trips,
 * costs in the wrong unit, and determinism.
 * @module
 */

import { MPT_OK, PAGE_SIZE, PAGE_SIZE_2M } from "./types.ts";
import {
  CONFORMANCE_LAYOUT as L,
  KIT_AF_CAP,
  KIT_GTT_OFFSET,
  KIT_MSI_CAP,
  type KitRig,
  kitVgpu,
  type RigOptions,
} from "./kit_rig.ts";

/** The failure of a check: why, with the values seen. */
export class CheckFailed {
  /** Creates it. @param reason the values seen vs expected */
  constructor(readonly reason: string) {}
}

/** Builds a fresh rig (new backend instance) for one check. */
export type RigFactory = (opts?: RigOptions) => Promise<KitRig>;

/** One rule of the kit. */
export interface KitCheck {
  /** The MPT op (or area, e.g. "costs") the rule is about. */
  op: string;
  /** The rule, in words. */
  rule: string;
  /** Runs the check; throws {@link CheckFailed} when the rule is broken. */
  run(rig: RigFactory, paths: Set<string>): Promise<void>;
}

const MSI_CTL = KIT_MSI_CAP + 2;
const SETTLE_NS = 10_000_000;
const MSI_ADDR = 0xfee00000, MSI_DATA = 0x41;

function expect(cond: boolean, reason: string): void {
  if (!cond) throw new CheckFailed(reason);
}

function hex(n: number): string {
  return typeof n === "number" && n >= 0 ? `0x${n.toString(16)}` : String(n);
}

const native = (r: KitRig, op: string): boolean => r.gate.nativeOps().native.includes(op);

/** The guest enables MSI (address, data, enable bit) with the given access width. */
function enableMsi(r: KitRig, id: number, width: 1 | 2 | 4): void {
  const c = L.cfg;
  r.gate.guestMmioWrite(id, c + 0x04, 2, 0x0006); // memory + bus master
  r.gate.guestMmioWrite(id, c + KIT_MSI_CAP + 4, 4, MSI_ADDR);
  r.gate.guestMmioWrite(id, c + KIT_MSI_CAP + 8, 2, MSI_DATA);
  setMsiEnable(r, id, width, true);
}

/** Sets or clears the MSI enable bit with a config write of `width` bytes. */
function setMsiEnable(r: KitRig, id: number, width: 1 | 2 | 4, on: boolean): void {
  const c = L.cfg;
  if (width === 4) {
    // one dword covering capability id, next pointer and message control
    const cur = r.core.emulateCfgRead(id, KIT_MSI_CAP, 4);
    r.core.cfgReads.pop();
    const ctl = Math.floor(cur / 65536);
    r.gate.guestMmioWrite(
      id,
      c + KIT_MSI_CAP,
      4,
      (cur % 65536) + ((on ? ctl | 1 : ctl & ~1) * 65536),
    );
  } else r.gate.guestMmioWrite(id, c + MSI_CTL, width, on ? 1 : 0);
}

/** Injects one MSI and lets the simulation run: [returned, MSIs that arrived]. */
function msiRoundTrip(r: KitRig, id: number): [boolean, number] {
  const before = r.msis.filter((m) => m.id === id).length;
  const ok = r.gate.injectMsi(id, MSI_ADDR, MSI_DATA);
  r.sim.runFor(SETTLE_NS);
  return [ok, r.msis.filter((m) => m.id === id).length - before];
}

/** Bytes the core saw written, by BAR0 offset (split pieces reassembled). */
function bytesWritten(r: KitRig, id: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const a of r.core.writes) {
    if (a.id !== id) continue;
    let x = a.value;
    for (let i = 0; i < a.size; i++) {
      out.set(a.off + i, x % 256);
      x = Math.floor(x / 256);
    }
  }
  return out;
}

/** A value of `size` bytes with distinct bytes (so a byte in the wrong place shows). */
function pattern(size: number, seed: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + ((seed + 0x11 * (i + 1)) & 0xff);
  return v;
}

/**
 * Host frames the device reaches from DMA address `dma` of vGPU `id`, page by page, through
 * the vGPU's IOMMU domain (identity while the backend leaves it passthrough; -1: nothing).
 */
function deviceFrames(r: KitRig, id: number, dma: number, pages: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < pages; k++) {
    const pa = r.iommu.resolve(id, dma + k * PAGE_SIZE);
    out.push(pa < 0 ? -1 : Math.floor(pa / PAGE_SIZE));
  }
  return out;
}

/** What a host frame is, for messages: "host frame N (owner O)" or "nothing". */
function frameText(r: KitRig, f: number): string {
  return f < 0
    ? "no host frame (the IOMMU domain maps nothing there)"
    : `host frame ${f} (owner ${r.host.ownerOf(f)})`;
}

/** Checks that a 2 MiB mapping of `gfn` is either refused or exactly the VM's frames. */
function hugeMapping(r: KitRig, gfn: number, what: string, paths: Set<string>): void {
  const dma = r.gate.dmaMapGuestPage(1, gfn, PAGE_SIZE_2M);
  if (dma < 0) {
    paths.add("dma 2M refused");
    return;
  }
  paths.add("dma 2M mapped");
  expect(
    dma % PAGE_SIZE_2M === 0,
    `dmaMapGuestPage(gfn ${gfn}, 2 MiB) over ${what} = ${hex(dma)}, not 2 MiB aligned: the ` +
      `GPU's 2 MiB page entry ignores the low bits, so the device would reach the frames ` +
      `below it (expected an aligned address or a negative errno)`,
  );
  const frames = deviceFrames(r, 1, dma, 512);
  for (let k = 0; k < 512; k++) {
    const want = r.mems[1].mfnOf(gfn + k);
    if (frames[k] !== want) {
      const owner = r.host.ownerOf(frames[k]);
      throw new CheckFailed(
        `dmaMapGuestPage(gfn ${gfn}, 2 MiB) over ${what} = ${hex(dma)}: page ${k} of the ` +
          `mapping reaches ${frameText(r, frames[k])}, but gfn ${gfn + k} is frame ${want}: ` +
          `the device would DMA into ${
            frames[k] < 0 ? "nothing (a fault)" : owner === 1 ? "the wrong page" : "another VM"
          } (expected a negative errno when the device cannot reach the 512 frames as one ` +
          `aligned range)`,
      );
    }
  }
  r.gate.dmaUnmapGuestPage(1, dma);
}

/** The op-by-op rules, in the order they run. */
export const KIT_CHECKS: readonly KitCheck[] = [
  {
    op: "hostInit",
    rule: "registers the backend",
    async run(rig) {
      const r = await rig({ attach: false });
      expect(r.gate.errorCount === 0, "hostInit failed (see the errors below)");
    },
  },
  {
    op: "attachVgpu",
    rule: "returns a handle",
    async run(rig) {
      const r = await rig({ attach: false });
      expect(r.gate.attachVgpu(kitVgpu(1)), "attachVgpu failed (see the errors below)");
      if (native(r, "attachVgpu")) {
        const h = r.handles[0];
        expect(
          h !== undefined && h !== null,
          `attachVgpu returned ${String(h)}, expected a per-vGPU handle`,
        );
      }
    },
  },
  {
    op: "detachVgpu",
    rule: "nothing of the handle outlives detach (pins, tracked pages, MSI, traps)",
    async run(rig, paths) {
      const r = await rig();
      if (!native(r, "detachVgpu")) return;
      const h = r.handles[0], gfn = 40;
      enableMsi(r, 1, 2);
      const dma = r.gate.dmaMapGuestPage(1, gfn, PAGE_SIZE);
      expect(dma >= 0, `dmaMapGuestPage(gfn ${gfn}) = ${dma} before detach, expected an address`);
      expect(r.gate.enablePageTrack(1, gfn + 1) === MPT_OK, "enablePageTrack failed");
      r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      r.gate.detachVgpu(1);
      paths.add("use after detach");
      const left = r.iommu.mapped[1];
      expect(
        left === 0,
        `after detachVgpu(h), ${left} IOVA page(s) are still mapped in vGPU 1's IOMMU domain: ` +
          `the DMA mapping of gfn ${gfn} outlived detach (the device could still reach it)`,
      );
      r.core.clearLog();
      const b = r.backend;
      if (typeof b.dmaPinGuestPage === "function") {
        const p = b.dmaPinGuestPage(h, dma);
        expect(
          p < 0,
          `after detachVgpu(h), dmaPinGuestPage(h, ${hex(dma)}) = ${p}: the mapping of gfn ` +
            `${gfn} outlived detach (a pinned page leaks; expected a negative errno)`,
        );
      }
      b.guestMemWrite(h, (gfn + 1) * PAGE_SIZE, 4, 0x5a5a5a5a);
      expect(
        r.core.wp.length === 0,
        `after detachVgpu(h), a write to gfn ${gfn + 1} through h still trapped to ` +
          `writeProtectHandler: the page tracking outlived detach`,
      );
      b.guestMmioWrite(h, L.bar0 + 0x2030, 4, 1);
      b.guestMmioRead(h, L.bar0 + 0x2030, 4);
      b.guestMmioRead(h, L.cfg + 0x10, 4);
      const n = r.core.reads.length + r.core.writes.length + r.core.cfgReads.length;
      expect(
        n === 0,
        `after detachVgpu(h), ${n} guest accesses through h still reached the core ` +
          `(emulateMmio*/emulateCfg* for a vGPU that no longer exists)`,
      );
      const before = r.msiDelays.length;
      const ok = b.injectMsi(h, MSI_ADDR, MSI_DATA);
      expect(
        !ok && r.msiDelays.length === before,
        `after detachVgpu(h), injectMsi(h) = ${ok} and ${r.msiDelays.length - before} MSI ` +
          `deliveries: the interrupt route outlived detach`,
      );
    },
  },
  {
    op: "detachVgpu",
    rule: "re-attach of the same vGPU id starts clean",
    async run(rig) {
      const r = await rig();
      const gfn = 40;
      enableMsi(r, 1, 2);
      const dma = r.gate.dmaMapGuestPage(1, gfn, PAGE_SIZE);
      expect(dma >= 0, `dmaMapGuestPage(gfn ${gfn}) = ${dma}, expected an address`);
      expect(r.gate.enablePageTrack(1, gfn + 1) === MPT_OK, "enablePageTrack failed");
      r.gate.detachVgpu(1);
      r.core.resetDevice(1);
      expect(r.gate.attachVgpu(kitVgpu(1)), "re-attach after detach failed");
      r.gate.guestMemWrite(1, (gfn + 1) * PAGE_SIZE, 4, 0x5a5a5a5a);
      expect(
        r.core.wp.length === 0,
        `a write to gfn ${gfn + 1}, tracked before detach, trapped after re-attach`,
      );
      expect(
        r.mems[1].readSized((gfn + 1) * PAGE_SIZE, 4) === 0x5a5a5a5a,
        `the write to gfn ${gfn + 1} after re-attach did not land in guest memory`,
      );
      if (native(r, "dmaPinGuestPage")) {
        const p = r.gate.dmaPinGuestPage(1, dma);
        expect(
          p < 0,
          `dmaPinGuestPage(${hex(dma)}) = ${p} after detach + re-attach: the mapping of ` +
            `gfn ${gfn} survived detach (expected a negative errno)`,
        );
      }
      const [ok, got] = msiRoundTrip(r, 1);
      expect(
        !ok && got === 0,
        `after detach + re-attach, an MSI was ${got ? "delivered" : "reported delivered"} ` +
          `before the new device's guest enabled MSI: the MSI enable state outlived detach`,
      );
    },
  },
  {
    op: "detachVgpu",
    rule: "double detach is safe",
    async run(rig) {
      const r = await rig();
      if (!native(r, "detachVgpu")) return;
      const h = r.handles[0];
      r.gate.detachVgpu(1);
      try {
        r.backend.detachVgpu!(h);
      } catch (e) {
        throw new CheckFailed(`a second detachVgpu of the same handle threw: ${String(e)}`);
      }
    },
  },
  {
    op: "attachVgpu",
    rule: "two vGPUs at once share no state",
    async run(rig, paths) {
      const r = await rig({ vms: 2 });
      paths.add("two vGPUs");
      const gfn = 60;
      expect(r.gate.enablePageTrack(1, gfn) === MPT_OK, "enablePageTrack on vGPU 1 failed");
      r.gate.guestMemWrite(2, gfn * PAGE_SIZE, 4, 0x22222222);
      expect(
        r.core.wp.length === 0,
        `a write by vGPU 2 to its own gfn ${gfn} trapped because vGPU 1 tracks its gfn ${gfn} ` +
          `(page tracking shared between vGPUs)`,
      );
      expect(
        r.mems[2].readSized(gfn * PAGE_SIZE, 4) === 0x22222222,
        `vGPU 2's write to gfn ${gfn} did not land in its own memory`,
      );
      const a1 = r.gate.dmaMapGuestPage(1, 70, PAGE_SIZE),
        a2 = r.gate.dmaMapGuestPage(2, 70, PAGE_SIZE);
      expect(a1 >= 0 && a2 >= 0, `dmaMapGuestPage(gfn 70) = ${a1} / ${a2} on vGPU 1 / 2`);
      // each address is the vGPU's own: in its own IOMMU domain it reaches its own frame (with
      // IOVA = GPA both are the same number, in two domains)
      const f1 = deviceFrames(r, 1, a1, 1)[0], f2 = deviceFrames(r, 2, a2, 1)[0];
      const o2 = r.host.ownerOf(f2);
      expect(
        f2 === r.mems[2].residentMfn(70) && f1 === r.mems[1].residentMfn(70),
        `gfn 70 of vGPU 2 maps to ${hex(a2)}, which reaches ${frameText(r, f2)}; vGPU 1's to ` +
          `${hex(a1)} (${frameText(r, f1)}): vGPU 2 would DMA into ${
            o2 === 1 ? "vGPU 1's page" : f2 < 0 ? "nothing" : "a foreign page"
          }`,
      );
      if (native(r, "dmaPinGuestPage")) {
        const only1 = r.gate.dmaMapGuestPage(1, 71, PAGE_SIZE);
        const p = r.gate.dmaPinGuestPage(2, only1);
        expect(
          p < 0,
          `dmaPinGuestPage on vGPU 2 of ${hex(only1)}, an address only vGPU 1 mapped, = ${p}: ` +
            `mappings are shared between vGPUs (expected a negative errno)`,
        );
      }
      enableMsi(r, 1, 2);
      const [ok2, got2] = msiRoundTrip(r, 2);
      expect(
        !ok2 && got2 === 0,
        `vGPU 2 got an MSI (returned ${ok2}, ${got2} delivered) although only vGPU 1's guest ` +
          `enabled MSI (MSI state shared between vGPUs)`,
      );
      const [ok1, got1] = msiRoundTrip(r, 1);
      expect(ok1 && got1 === 1, `vGPU 1's MSI: returned ${ok1}, ${got1} delivered, expected 1`);
      r.core.clearLog();
      r.gate.setTrapArea(2, L.bar0, L.bar0 + L.bar0Size, true);
      r.gate.guestMmioWrite(2, L.bar0 + 0x2030, 4, 7);
      const w = r.core.writes;
      expect(
        w.length >= 1 && w.every((a) => a.id === 2),
        `vGPU 2's BAR0 write reached the core as vGPU ${w.map((a) => a.id).join(", ")}`,
      );
      if (native(r, "detachVgpu")) {
        r.gate.detachVgpu(1);
        r.gate.guestMemWrite(2, 61 * PAGE_SIZE, 4, 1);
        expect(r.gate.enablePageTrack(2, 61) === MPT_OK, "enablePageTrack on vGPU 2 failed");
        r.gate.guestMemWrite(2, 61 * PAGE_SIZE, 4, 2);
        expect(
          r.core.wp.length === 1 && r.core.wp[0].id === 2,
          `after detaching vGPU 1, a tracked write of vGPU 2 gave ${r.core.wp.length} ` +
            `writeProtectHandler calls (detaching one vGPU broke another)`,
        );
        const [ok, got] = msiRoundTrip(r, 1);
        expect(!ok && got === 0, "an MSI reached detached vGPU 1");
      }
    },
  },
  {
    op: "dmaMapGuestPage",
    rule: "4 KiB: stable address per gfn, distinct per gfn, the VM's own frame",
    async run(rig, paths) {
      const r = await rig();
      paths.add("dma 4K");
      const a1 = r.gate.dmaMapGuestPage(1, 100, PAGE_SIZE);
      const a2 = r.gate.dmaMapGuestPage(1, 100, PAGE_SIZE);
      const b = r.gate.dmaMapGuestPage(1, 101, PAGE_SIZE);
      expect(a1 >= 0 && b >= 0, `dmaMapGuestPage(gfn 100/101) = ${a1}/${b}, expected addresses`);
      expect(a1 === a2, `gfn 100 mapped twice gave ${hex(a1)} then ${hex(a2)}, expected equal`);
      expect(a1 !== b, `gfns 100 and 101 both map to ${hex(a1)}, expected distinct addresses`);
      expect(a1 % PAGE_SIZE === 0, `DMA address ${hex(a1)} is not page aligned`);
      for (const [gfn, a] of [[100, a1], [101, b]]) {
        const f = deviceFrames(r, 1, a, 1)[0];
        expect(
          f === r.mems[1].residentMfn(gfn),
          `DMA address ${hex(a)} of gfn ${gfn} reaches ${frameText(r, f)}, not the frame ` +
            `backing gfn ${gfn} (${r.mems[1].residentMfn(gfn)})`,
        );
      }
    },
  },
  {
    op: "dmaMapGuestPage",
    rule: "2 MiB: the device reaches exactly the guest's 512 frames, aligned, or the map fails",
    async run(rig, paths) {
      const r = await rig();
      hugeMapping(r, L.hugeAligned, "contiguous aligned frames", paths);
      hugeMapping(r, L.hugeScattered, "scattered frames", paths);
      hugeMapping(r, L.hugeUnaligned, "contiguous frames off 2 MiB alignment", paths);
      const hole = r.gate.dmaMapGuestPage(1, L.hole[0] - 256, PAGE_SIZE_2M);
      expect(
        hole < 0,
        `dmaMapGuestPage(gfn ${L.hole[0] - 256}, 2 MiB) whose upper half is an MMIO hole = ` +
          `${hex(hole)}, expected a negative errno`,
      );
    },
  },
  {
    op: "dmaUnmapGuestPage",
    rule: "map/pin/unmap balance (refcounts return to zero), 4 KiB and 2 MiB",
    async run(rig, paths) {
      const r = await rig();
      const pinNative = native(r, "dmaPinGuestPage");
      for (const [gfn, size] of [[120, PAGE_SIZE], [L.hugeAligned, PAGE_SIZE_2M]] as const) {
        const a = r.gate.dmaMapGuestPage(1, gfn, size);
        if (a < 0 && size === PAGE_SIZE_2M) continue; // 2 MiB refused: the core splits it
        const what = `gfn ${gfn} (${size === PAGE_SIZE_2M ? "2 MiB" : "4 KiB"})`;
        paths.add(size === PAGE_SIZE_2M ? "refcount 2M" : "refcount 4K");
        expect(a >= 0, `dmaMapGuestPage(${what}) = ${a}, expected an address`);
        expect(r.gate.dmaMapGuestPage(1, gfn, size) === a, `second map of ${what} differs`);
        const pin = r.gate.dmaPinGuestPage(1, a);
        expect(pin === MPT_OK, `dmaPinGuestPage(${hex(a)}) = ${pin} on a live mapping, want 0`);
        r.gate.dmaUnmapGuestPage(1, a);
        r.gate.dmaUnmapGuestPage(1, a);
        if (pinNative) {
          const again = r.gate.dmaPinGuestPage(1, a);
          expect(
            again === MPT_OK,
            `dmaPinGuestPage(${hex(a)}) = ${again} with one reference left (2 maps + 1 pin - ` +
              `2 unmaps) of ${what}, expected 0: the mapping was released too early`,
          );
          r.gate.dmaUnmapGuestPage(1, a);
        }
        r.gate.dmaUnmapGuestPage(1, a);
        if (pinNative) {
          const late = r.gate.dmaPinGuestPage(1, a);
          expect(
            late < 0,
            `dmaPinGuestPage(${hex(a)}) = ${late} after every map and pin of ${what} was ` +
              `unmapped: the refcount did not return to zero (leak), expected a negative errno`,
          );
        }
        const stale = deviceFrames(r, 1, a, size / PAGE_SIZE).findIndex((f) => f >= 0);
        if (r.iommu.translating[1] === 1) {
          expect(
            stale < 0,
            `after every map and pin of ${what} was unmapped, device address ` +
              `${hex(a + stale * PAGE_SIZE)} still reaches ${
                frameText(r, deviceFrames(r, 1, a + stale * PAGE_SIZE, 1)[0])
              } through vGPU 1's IOMMU domain: a stale IOMMU mapping (the device could DMA ` +
              `into a page the guest reuses)`,
          );
        }
        const fresh = r.gate.dmaMapGuestPage(1, gfn, size);
        expect(fresh >= 0, `mapping ${what} again after full release = ${fresh}`);
        r.gate.dmaUnmapGuestPage(1, fresh);
      }
    },
  },
  {
    op: "dmaPinGuestPage",
    rule: "pin of an unknown address fails",
    async run(rig) {
      const r = await rig();
      const p = r.gate.dmaPinGuestPage(1, 0x7fff_f000);
      expect(p < 0, `dmaPinGuestPage(0x7ffff000) = ${p} for an address never mapped`);
    },
  },
  {
    op: "dmaMapGuestPage",
    rule: "invalid gfn fails (the core falls back to scratch)",
    async run(rig) {
      const r = await rig();
      const a = r.gate.dmaMapGuestPage(1, L.hole[0] + 3, PAGE_SIZE);
      expect(a < 0, `dmaMapGuestPage(gfn ${L.hole[0] + 3} in a hole) = ${hex(a)}, expected < 0`);
      const b = r.gate.dmaMapGuestPage(1, L.ram / PAGE_SIZE + 5, PAGE_SIZE);
      expect(b < 0, `dmaMapGuestPage(gfn past the end) = ${hex(b)}, expected a negative errno`);
      const c = r.gate.dmaMapGuestPage(1, 10, 3 * PAGE_SIZE);
      expect(c < 0, `dmaMapGuestPage(gfn 10, 12 KiB) = ${hex(c)}: only 4 KiB and 2 MiB exist`);
    },
  },
  {
    op: "dmaMapGuestPage",
    rule: "IOMMU: each vGPU's domain maps only its VM's frames, each DMA address to its gfn's",
    async run(rig, paths) {
      const r = await rig({ vms: 2 });
      const maps: [number, number, number, number][] = []; // vGPU, gfn, size, address
      for (const id of [1, 2]) {
        for (const gfn of [20, 21, 300, 301]) {
          maps.push([id, gfn, PAGE_SIZE, r.gate.dmaMapGuestPage(id, gfn, PAGE_SIZE)]);
        }
        maps.push([
          id,
          L.hugeAligned,
          PAGE_SIZE_2M,
          r.gate.dmaMapGuestPage(id, L.hugeAligned, PAGE_SIZE_2M),
        ]);
      }
      const translated = [1, 2].filter((id) => r.iommu.translating[id] === 1);
      paths.add(translated.length > 0 ? "iommu translated" : "iommu passthrough");
      for (const [id, gfn, size, a] of maps) {
        if (a < 0) {
          expect(size === PAGE_SIZE_2M, `dmaMapGuestPage(vGPU ${id}, gfn ${gfn}) = ${a} for RAM`);
          continue;
        }
        const frames = deviceFrames(r, id, a, size / PAGE_SIZE);
        const k = frames.findIndex((f, i) => f !== r.mems[id].residentMfn(gfn + i));
        expect(
          k < 0,
          `vGPU ${id}'s dmaMapGuestPage(gfn ${gfn}) = ${hex(a)}: page ${k} reaches ` +
            `${frameText(r, frames[k])} in its IOMMU domain, not gfn ${gfn + k}'s frame ` +
            `${r.mems[id].residentMfn(gfn + k)}`,
        );
      }
      for (const id of translated) {
        const foreign = r.iommu.mappings(id).find(([, m]) => r.host.ownerOf(m) !== id);
        expect(
          foreign === undefined,
          `vGPU ${id}'s IOMMU domain maps IOVA ${hex(foreign?.[0] ?? 0)} to host frame ` +
            `${foreign?.[1]} (owner ${r.host.ownerOf(foreign?.[1] ?? -1)}): the device could ` +
            `DMA into memory that is not its VM's`,
        );
      }
    },
  },
  {
    op: "enablePageTrack",
    rule: "trapped writes reach writeProtectHandler, not memory",
    async run(rig, paths) {
      const r = await rig();
      paths.add("page-track trap");
      const gfn = 300, gpa = gfn * PAGE_SIZE + 0x18;
      r.mems[1].writeSized(gpa, 4, 0x11111111);
      const e = r.gate.enablePageTrack(1, gfn);
      expect(e === MPT_OK, `enablePageTrack(gfn ${gfn}) = ${e}, expected 0`);
      r.gate.guestMemWrite(1, gpa, 4, 0xcafe0001);
      const w = r.core.wp;
      expect(w.length === 1, `${w.length} writeProtectHandler calls for one tracked write`);
      expect(
        w[0].id === 1 && w[0].off === gpa && w[0].size === 4 && w[0].value === 0xcafe0001,
        `writeProtectHandler got (vgpu ${w[0].id}, gpa ${hex(w[0].off)}, size ${w[0].size}, ` +
          `value ${hex(w[0].value)}), expected (1, ${hex(gpa)}, 4, 0xcafe0001)`,
      );
      const now = r.mems[1].readSized(gpa, 4);
      expect(
        now === 0x11111111,
        `guest memory at ${hex(gpa)} is ${hex(now)} after a trapped write: the backend did ` +
          `the write itself (the core applies it)`,
      );
    },
  },
  {
    op: "disablePageTrack",
    rule: "plain writes land in memory once disabled",
    async run(rig) {
      const r = await rig();
      const gfn = 310, gpa = gfn * PAGE_SIZE + 0x40;
      r.gate.guestMemWrite(1, gpa, 8, 0x1234_5678_9a);
      expect(r.core.wp.length === 0, "a write to a never-tracked page reached the handler");
      expect(
        r.mems[1].readSized(gpa, 8) === 0x1234_5678_9a,
        `an untracked write did not land in memory (read ${hex(r.mems[1].readSized(gpa, 8))})`,
      );
      expect(r.gate.enablePageTrack(1, gfn) === MPT_OK, "enablePageTrack failed");
      const d = r.gate.disablePageTrack(1, gfn);
      expect(d === MPT_OK, `disablePageTrack(gfn ${gfn}) = ${d}, expected 0`);
      r.gate.guestMemWrite(1, gpa, 4, 0xdeadbeef);
      expect(
        r.core.wp.length === 0,
        `a write to gfn ${gfn} after disablePageTrack reached writeProtectHandler`,
      );
      const v = r.mems[1].readSized(gpa, 4);
      expect(v === 0xdeadbeef, `write after disablePageTrack not in memory (read ${hex(v)})`);
    },
  },
  {
    op: "enablePageTrack",
    rule: "invalid gfn fails",
    async run(rig) {
      const r = await rig();
      const e = r.gate.enablePageTrack(1, L.ram / PAGE_SIZE + 1);
      expect(e < 0, `enablePageTrack(gfn past the end) = ${e}, expected a negative errno`);
    },
  },
  {
    op: "dirtyLogSync",
    rule: "reports each page the guest wrote since the last call, then clears",
    async run(rig) {
      const r = await rig();
      const on = r.gate.dirtyLog(1, true);
      expect(on === MPT_OK, `dirtyLog(on) = ${on}, expected 0`);
      const mem = r.mems[1];
      mem.write32(40 * PAGE_SIZE, 1);
      mem.write32(41 * PAGE_SIZE + 8, 2);
      const bits = new Uint8Array(mem.frames);
      const s1 = r.gate.dirtyLogSync(1, bits);
      expect(s1 === MPT_OK, `dirtyLogSync = ${s1}, expected 0`);
      expect(
        bits[40] === 1 && bits[41] === 1,
        `dirtyLogSync after guest writes to gfns 40 and 41 reported ${bits[40]}, ${bits[41]}: ` +
          `a live migration would leave those pages stale on the target (expected 1, 1)`,
      );
      if (native(r, "dirtyLogSync")) {
        const again = new Uint8Array(mem.frames);
        r.gate.dirtyLogSync(1, again);
        expect(
          again[40] === 0 && again[41] === 0,
          `a second dirtyLogSync with no writes in between reported gfn 40/41 again: the log ` +
            `is get-and-clear (expected 0, 0)`,
        );
      }
      const off = r.gate.dirtyLog(1, false);
      expect(off === MPT_OK, `dirtyLog(off) = ${off}, expected 0`);
    },
  },
  {
    op: "readGpa",
    rule: "round trip across a page boundary",
    async run(rig) {
      const r = await rig();
      const gpa = 50 * PAGE_SIZE + 4000;
      const out = new Uint8Array(300);
      for (let i = 0; i < out.length; i++) out[i] = (i * 7 + 3) & 0xff;
      const w = r.gate.writeGpa(1, gpa, out);
      expect(w === MPT_OK, `writeGpa(${hex(gpa)}, 300 bytes) = ${w}, expected 0`);
      const back = new Uint8Array(300);
      const rd = r.gate.readGpa(1, gpa, back);
      expect(rd === MPT_OK, `readGpa(${hex(gpa)}, 300 bytes) = ${rd}, expected 0`);
      const bad = back.findIndex((b, i) => b !== out[i]);
      expect(bad < 0, `byte ${bad} read back as ${back[bad]}, written ${out[bad]}`);
      const direct = new Uint8Array(300);
      r.mems[1].read(gpa, direct);
      const bad2 = direct.findIndex((b, i) => b !== out[i]);
      expect(bad2 < 0, `writeGpa did not reach guest RAM (byte ${bad2} is ${direct[bad2]})`);
    },
  },
  {
    op: "readGpa",
    rule: "out-of-range gpa fails cleanly",
    async run(rig) {
      const r = await rig();
      const buf = new Uint8Array(16).fill(0x77);
      const end = r.gate.readGpa(1, L.ram - 8, buf);
      expect(
        end < 0,
        `readGpa(${hex(L.ram - 8)}, 16 bytes) past the end of RAM = ${end}, expected a ` +
          `negative errno`,
      );
      const hole = r.gate.readGpa(1, L.hole[0] * PAGE_SIZE, buf);
      expect(
        hole < 0,
        `readGpa in the MMIO hole (gfn ${L.hole[0]}) = ${hole}, expected a negative errno`,
      );
      const neg = r.gate.readGpa(1, -PAGE_SIZE, buf);
      expect(neg < 0, `readGpa(-4096) = ${neg}, expected a negative errno`);
    },
  },
  {
    op: "writeGpa",
    rule: "out-of-range gpa fails cleanly",
    async run(rig) {
      const r = await rig();
      const buf = new Uint8Array(16).fill(0x66);
      const end = r.gate.writeGpa(1, L.ram - 8, buf);
      expect(
        end < 0,
        `writeGpa(${hex(L.ram - 8)}, 16 bytes) past the end of RAM = ${end}, expected a ` +
          `negative errno`,
      );
      const tail = r.mems[1].readSized(L.ram - 8, 4);
      expect(tail === 0, `a failed writeGpa still wrote the last frame (${hex(tail)})`);
      const hole = r.gate.writeGpa(1, L.hole[0] * PAGE_SIZE + 8, buf);
      expect(hole < 0, `writeGpa in the MMIO hole = ${hole}, expected a negative errno`);
    },
  },
  {
    op: "isValidGfn",
    rule: "true for RAM, false for holes and out of range",
    async run(rig) {
      const r = await rig();
      if (!native(r, "isValidGfn")) return;
      const frames = L.ram / PAGE_SIZE;
      expect(r.gate.isValidGfn(1, 10), "isValidGfn(10) = false for RAM");
      expect(r.gate.isValidGfn(1, frames - 1), `isValidGfn(${frames - 1}) = false for RAM`);
      expect(!r.gate.isValidGfn(1, L.hole[0]), `isValidGfn(${L.hole[0]}) = true in a hole`);
      expect(!r.gate.isValidGfn(1, frames), `isValidGfn(${frames}) = true past the end`);
      expect(!r.gate.isValidGfn(1, -1), "isValidGfn(-1) = true");
    },
  },
  {
    op: "gfnToMfn",
    rule: "backing frame for RAM, -1 otherwise",
    async run(rig) {
      const r = await rig();
      const m = r.gate.gfnToMfn(1, 77);
      const want = r.mems[1].mfnOf(77);
      expect(m === want, `gfnToMfn(77) = ${m}, the frame backing gfn 77 is ${want}`);
      const h = r.gate.gfnToMfn(1, L.hole[0]);
      expect(h === -1, `gfnToMfn(${L.hole[0]} in a hole) = ${h}, expected -1`);
    },
  },
  {
    op: "injectMsi",
    rule: "dropped while the guest has MSI disabled",
    async run(rig, paths) {
      const r = await rig();
      paths.add("msi disabled");
      const [ok, got] = msiRoundTrip(r, 1);
      expect(
        got === 0,
        `an MSI reached the guest (at ${r.msis[0]?.at} ns) although MSI is disabled in its ` +
          `config space`,
      );
      expect(!ok, "injectMsi returned true (delivered) but the MSI was dropped");
    },
  },
  {
    op: "injectMsi",
    rule: "follows every enable/disable transition, whatever the config write width",
    async run(rig, paths) {
      for (const width of [2, 1, 4] as const) {
        const r = await rig();
        paths.add(`msi enable ${width}B`);
        enableMsi(r, 1, width);
        expect(
          (r.core.cfg(1)[MSI_CTL] & 1) === 1,
          `the guest's ${width}-byte config write enabling MSI did not reach emulateCfgWrite`,
        );
        const [ok, got] = msiRoundTrip(r, 1);
        expect(
          ok && got === 1,
          `after the guest enabled MSI with a ${width}-byte config write, injectMsi returned ` +
            `${ok} and ${got} MSIs arrived, expected true and 1`,
        );
        const m = r.msis[0];
        expect(
          m.addr === MSI_ADDR && m.data === MSI_DATA,
          `guest got MSI (${hex(m.addr)}, ${hex(m.data)}), expected (${hex(MSI_ADDR)}, ${
            hex(MSI_DATA)
          })`,
        );
        setMsiEnable(r, 1, width, false);
        const [ok2, got2] = msiRoundTrip(r, 1);
        expect(
          !ok2 && got2 === 0,
          `an MSI was delivered after the guest disabled MSI with a ${width}-byte write`,
        );
        setMsiEnable(r, 1, width, true);
        const [ok3, got3] = msiRoundTrip(r, 1);
        expect(
          ok3 && got3 === 1,
          `after disabling and enabling MSI again (${width}-byte writes) injectMsi returned ` +
            `${ok3}, ${got3} delivered`,
        );
      }
    },
  },
  {
    op: "guestMmioWrite",
    rule: "BAR0 writes of 1/2/4/8 bytes, aligned or not, reach the core byte-exact",
    async run(rig, paths) {
      const r = await rig();
      r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      let seed = 1;
      for (const size of [1, 2, 4, 8]) {
        for (const off of [0x2030, 0x2031, 0x2032, KIT_GTT_OFFSET + 0x40]) {
          if (off === KIT_GTT_OFFSET + 0x40 && size !== 8 && size !== 4) continue;
          paths.add(`bar0 write ${size}B${off % size === 0 ? "" : " unaligned"}`);
          r.core.clearLog();
          const v = pattern(size, seed++);
          r.gate.guestMmioWrite(1, L.bar0 + off, size, v);
          const bytes = bytesWritten(r, 1);
          let x = v;
          for (let i = 0; i < size; i++) {
            expect(
              bytes.get(off + i) === x % 256,
              `${size}-byte write of ${hex(v)} at BAR0 + ${hex(off)}: byte ${i} reached the ` +
                `core as ${bytes.get(off + i)}, expected ${x % 256}`,
            );
            x = Math.floor(x / 256);
          }
          expect(
            bytes.size === size,
            `${size}-byte write at BAR0 + ${hex(off)} touched ${bytes.size} bytes in the core`,
          );
        }
      }
    },
  },
  {
    op: "guestMmioRead",
    rule: "BAR0 reads of 1/2/4/8 bytes, aligned or not, return the core's bytes",
    async run(rig, paths) {
      const r = await rig();
      r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      r.core.setReg(1, 0x44000, 8, 0x0807_0605_0403_02);
      r.core.setReg(1, KIT_GTT_OFFSET + 0x80, 8, 0x12_3456_7003);
      for (
        const [off, size, want] of [
          [0x44000, 4, 0x05040302],
          [0x44002, 2, 0x0504],
          [0x44001, 1, 0x03],
          [0x44001, 4, 0x06050403],
          [0x44000, 8, 0x0807_0605_0403_02],
          [KIT_GTT_OFFSET + 0x80, 8, 0x12_3456_7003],
        ] as const
      ) {
        paths.add(`bar0 read ${size}B${off % size === 0 ? "" : " unaligned"}`);
        r.core.clearLog();
        const v = r.gate.guestMmioRead(1, L.bar0 + off, size);
        expect(
          v === want,
          `${size}-byte read at BAR0 + ${hex(off)} = ${hex(v)}, the core holds ${hex(want)}`,
        );
        expect(
          r.core.reads.length > 0 && r.core.reads.every((a) => a.id === 1),
          `${size}-byte read at BAR0 + ${hex(off)} did not reach emulateMmioRead as vGPU 1`,
        );
      }
    },
  },
  {
    op: "guestMmioRead",
    rule: "accesses straddling the ends of BAR0 or config space never reach the core out of range",
    async run(rig, paths) {
      const r = await rig();
      paths.add("straddling");
      r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      const end = L.bar0 + L.bar0Size;
      r.gate.guestMmioRead(1, end - 2, 4);
      r.gate.guestMmioWrite(1, end - 4, 8, 0x1111_2222_3333);
      r.gate.guestMmioRead(1, end + PAGE_SIZE, 4);
      r.gate.guestMmioWrite(1, L.bar0 - 2, 4, 1);
      r.gate.guestMmioRead(1, L.bar0 - PAGE_SIZE, 4);
      const bad = [...r.core.reads, ...r.core.writes].find((a) =>
        a.off < 0 || a.off + a.size > L.bar0Size
      );
      expect(
        bad === undefined,
        `an access straddling BAR0's end reached the core at offset ${hex(bad?.off ?? 0)}, ` +
          `${bad?.size} bytes, past BAR0's ${L.bar0Size / 1048576} MiB (the mediator would ` +
          `emulate a register outside the device)`,
      );
      r.gate.guestMmioRead(1, L.cfg + 4094, 4);
      r.gate.guestMmioWrite(1, L.cfg + 4095, 2, 0xffff);
      const cbad = [...r.core.cfgReads, ...r.core.cfgWrites].find((a) => a.off + a.size > 4096);
      expect(
        cbad === undefined,
        `an access straddling the end of config space reached emulateCfg* at offset ` +
          `${hex(cbad?.off ?? 0)}, ${cbad?.size} bytes (past 4 KiB)`,
      );
    },
  },
  {
    op: "guestMmioWrite",
    rule: "config-space accesses of 1/2/4 bytes reach the core byte-exact",
    async run(rig, paths) {
      const r = await rig();
      for (const [off, size] of [[0x70, 1], [0x71, 1], [0x72, 2], [0x74, 4], [0x79, 2]]) {
        paths.add(`cfg write ${size}B`);
        r.core.clearLog();
        const v = pattern(size, off);
        r.gate.guestMmioWrite(1, L.cfg + off, size, v);
        const c = r.core.cfg(1);
        let got = 0;
        for (let i = size - 1; i >= 0; i--) got = got * 256 + c[off + i];
        expect(
          got === v,
          `${size}-byte config write of ${hex(v)} at ${hex(off)} left ${hex(got)} in config space`,
        );
        const back = r.gate.guestMmioRead(1, L.cfg + off, size);
        expect(
          back === v,
          `${size}-byte config read at ${hex(off)} = ${hex(back)}, want ${hex(v)}`,
        );
      }
    },
  },
  {
    op: "guestMmioWrite",
    rule: "a guest FLR (AF control write of any width) resets the vGPU once; MSI is off after it",
    async run(rig, paths) {
      const ctl = KIT_AF_CAP + 4;
      for (const width of [1, 2, 4] as const) {
        const r = await rig();
        paths.add(`flr ${width}B`);
        enableMsi(r, 1, 2);
        r.core.lifecycle.length = 0;
        r.gate.guestMmioWrite(1, L.cfg + ctl, width, 1);
        const resets = () => r.core.lifecycle.filter(([c, id]) => c === "vgpuReset" && id === 1);
        expect(
          resets().length === 1,
          `a ${width}-byte config write setting the FLR bit (AF control at ${hex(ctl)}) gave ` +
            `${resets().length} vgpuReset calls, expected 1: the guest's function-level reset ` +
            `must reach the mediator through GvtOps.vgpuReset`,
        );
        const [ok, got] = msiRoundTrip(r, 1);
        expect(
          !ok && got === 0,
          `after an FLR (${width}-byte write) an MSI was ${got ? "delivered" : "reported"} ` +
            `before the guest enabled MSI again (the device comes out of reset with MSI off)`,
        );
        r.gate.guestMmioWrite(1, L.cfg + ctl, 1, 0);
        r.gate.guestMmioWrite(1, L.cfg + ctl + 1, 1, 1);
        expect(
          resets().length === 1,
          "a config write that does not set the FLR bit reset the vGPU",
        );
      }
    },
  },
  {
    op: "guestMmioRead",
    rule: "accesses outside BAR0 and config space do not reach the core",
    async run(rig) {
      const r = await rig();
      r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      r.gate.guestMmioRead(1, L.bar0 + L.bar0Size + PAGE_SIZE, 4);
      r.gate.guestMmioWrite(1, L.bar0 - PAGE_SIZE, 4, 1);
      r.gate.guestMmioRead(1, L.bar2 + PAGE_SIZE, 4);
      expect(
        r.core.reads.length === 0 && r.core.writes.length === 0,
        `accesses outside BAR0 reached the core: ${r.core.reads.length} reads, ` +
          `${r.core.writes.length} writes`,
      );
    },
  },
  {
    op: "guestMmioRead",
    rule: "the trap path never throws (odd sizes, alignment, before hostInit's trap area)",
    async run(rig, paths) {
      const r = await rig();
      paths.add("trap path odd shapes");
      const shapes: [number, number][] = [];
      for (const size of [1, 2, 3, 4, 8, 16]) {
        for (const off of [0, 1, 3, 7, 0x2031, KIT_GTT_OFFSET - 2, L.bar0Size - 1]) {
          shapes.push([L.bar0 + off, size]);
        }
        shapes.push([L.cfg + 0xfff, size], [L.cfg + 0xad, size], [-8, size], [2 ** 52, size]);
      }
      const once = () => {
        for (const [gpa, size] of shapes) {
          r.gate.guestMmioRead(1, gpa, size);
          r.gate.guestMmioWrite(1, gpa, size, 0xff);
          r.gate.guestMemWrite(1, gpa >= 0 && gpa < L.ram ? gpa : 100 * PAGE_SIZE, size, 1);
        }
      };
      once(); // BAR0 not yet claimed
      r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      r.gate.enablePageTrack(1, 100);
      once();
      const trap = r.gate.errors.filter((e) =>
        e.op === "guestMmioRead" || e.op === "guestMmioWrite" || e.op === "guestMemWrite"
      );
      expect(
        trap.length === 0,
        `${trap.length} exceptions on the trap path (a guest access must never throw: ` +
          `answer all ones or drop the write), first: ${trap[0]?.op}: ${trap[0]?.message}`,
      );
    },
  },
  {
    op: "optional ops",
    rule: "callable, return 0 or a negative errno",
    async run(rig) {
      const r = await rig();
      const results: [string, number][] = [
        ["setTrapArea", r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true)],
        ["mapGfnToMfn", r.gate.mapGfnToMfn(1, L.bar2 / PAGE_SIZE, 9000, 128, true)],
        ["mapGfnToMfn(unmap)", r.gate.mapGfnToMfn(1, L.bar2 / PAGE_SIZE, 9000, 128, false)],
        ["setOpregion", r.gate.setOpregion(1)],
        ["setEdid", r.gate.setEdid(1, 1)],
        ["getVfioDevice", r.gate.getVfioDevice(1)],
      ];
      r.gate.putVfioDevice(1);
      r.gate.vgpuDescheduled(1);
      r.gate.fromVirtToMfn(0x10_0000);
      for (const [name, v] of results) {
        expect(
          Number.isInteger(v) && v <= 0,
          `${name} returned ${v}, expected 0 or a negative errno`,
        );
      }
      const bad = results.find(([, v]) => v !== MPT_OK);
      expect(bad === undefined, `${bad?.[0]} failed with ${bad?.[1]} on valid arguments`);
    },
  },
  {
    op: "restore",
    rule: "save -> restore into a fresh backend -> save gives the same state, field by field",
    async run(rig, paths) {
      const a = await rig();
      if (!native(a, "save") || !native(a, "restore")) return;
      paths.add("save/restore");
      enableMsi(a, 1, 2);
      a.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      const dma = a.gate.dmaMapGuestPage(1, 130, PAGE_SIZE);
      a.gate.dmaPinGuestPage(1, dma);
      a.gate.enablePageTrack(1, 140);
      a.gate.guestMmioWrite(1, L.bar0 + 0x2030, 4, 5);
      a.gate.readGpa(1, PAGE_SIZE, new Uint8Array(64));
      a.gate.gfnToMfn(1, 150);
      const saved = a.gate.save(1);
      expect(saved !== undefined, "save returned nothing (or threw, see the errors below)");
      const json = JSON.stringify(saved);
      const b = await rig();
      const cfg = a.core.cfg(1);
      b.core.cfg(1).set(cfg); // the core restores its own state (config space) itself
      expect(b.gate.restore(1, JSON.parse(json)), "restore failed (see the errors below)");
      const again = JSON.parse(JSON.stringify(b.gate.save(1) ?? null));
      const diff = firstDifference(JSON.parse(json), again, "state");
      expect(
        diff === "",
        `restore lost part of the state: ${diff} (saved on one backend, restored into a ` +
          `fresh one, saved again)`,
      );
      b.gate.guestMemWrite(1, 140 * PAGE_SIZE, 4, 9);
      expect(b.core.wp.length === 1, "after restore, a write to a tracked page did not trap");
      const [ok, got] = msiRoundTrip(b, 1);
      expect(ok && got === 1, "after restore, an MSI was dropped although the guest enabled MSI");
      if (native(b, "dmaPinGuestPage")) {
        const p = b.gate.dmaPinGuestPage(1, dma);
        expect(p === MPT_OK, `after restore, dmaPinGuestPage(${hex(dma)}) = ${p}, expected 0`);
      }
    },
  },
  {
    op: "costs",
    rule: "cost model well formed (non-negative finite ns)",
    async run(rig) {
      const r = await rig();
      const declared = r.backend.costs as Record<string, unknown>;
      for (const [k, v] of Object.entries(declared)) {
        expect(
          typeof v === "number" && Number.isFinite(v) && v >= 0,
          `declared cost '${k}' is ${String(v)}, expected a non-negative finite number of ns`,
        );
      }
    },
  },
  {
    op: "costs",
    rule: "costs in ns: no trap or attach cheaper than a plausible floor, no op over 100 ms",
    async run(rig, paths) {
      const r = await rig({ attach: false });
      paths.add("cost floors");
      r.gate.takeCost();
      r.gate.attachVgpu(kitVgpu(1));
      const attach = r.gate.takeCost();
      r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
      enableMsi(r, 1, 2);
      r.gate.enablePageTrack(1, 320);
      r.gate.takeCost();
      r.gate.guestMmioRead(1, L.bar0 + 0x2030, 4);
      const read = r.gate.takeCost();
      r.gate.guestMmioWrite(1, L.bar0 + 0x2030, 4, 1);
      const write = r.gate.takeCost();
      r.gate.guestMemWrite(1, 320 * PAGE_SIZE, 4, 1);
      const wp = r.gate.takeCost();
      msiRoundTrip(r, 1);
      const latency = r.msiDelays[0] ?? 0;
      const floors: [string, number, number][] = [
        ["a trapped 4-byte BAR0 read", read, TRAP_FLOOR_NS],
        ["a trapped 4-byte BAR0 write", write, TRAP_FLOOR_NS],
        ["a write to a write-protected page", wp, TRAP_FLOOR_NS],
        ["attachVgpu", attach, ATTACH_FLOOR_NS],
        ["MSI delivery latency (ctx.deliverMsi delay)", latency, MSI_FLOOR_NS],
      ];
      for (const [what, ns, floor] of floors) {
        expect(
          ns >= floor,
          `${what} costs ${ns} ns in total; it takes at least ${floor} ns on any hypervisor ` +
            `(VM exit, decode, emulation, resume): costs are integer ns, not µs or cycles`,
        );
      }
      for (const [k, v] of Object.entries(r.backend.costs)) {
        expect(v <= CEILING_NS, `declared cost '${k}' is ${v} ns (> 100 ms): costs are in ns`);
      }
    },
  },
  {
    op: "all ops",
    rule: "deterministic: the same calls give the same results, costs and MSI times",
    async run(rig, paths) {
      paths.add("determinism");
      const a = await scripted(await rig()), b = await scripted(await rig());
      const at = a.findIndex((x, i) => x !== b[i]);
      expect(
        at < 0 && a.length === b.length,
        `two runs of the same ${a.length} calls differ at call ${at}: ${a[at]} vs ${b[at]} ` +
          `(use ctx.now() and ctx.after(), never Math.random or the wall clock)`,
      );
    },
  },
  {
    op: "hostExit",
    rule: "unregisters cleanly",
    async run(rig) {
      const r = await rig();
      r.gate.detachVgpu(1);
      r.gate.hostExit();
    },
  },
];

/** Minimum plausible total cost of a trapped access (ns): exit, decode, emulate, resume. */
export const TRAP_FLOOR_NS = 500;
/** Minimum plausible cost of attaching a vGPU (ns). */
export const ATTACH_FLOOR_NS = 1_000;
/** Minimum plausible MSI delivery latency (ns). */
export const MSI_FLOOR_NS = 100;
/** No single op costs more than this (ns): a larger value is a unit mistake. */
export const CEILING_NS = 100_000_000;

/** A fixed sequence of calls; one line per call with its result, cost and time. */
async function scripted(r: KitRig): Promise<string[]> {
  await Promise.resolve();
  const out: string[] = [];
  const log = (what: string, v: unknown) =>
    out.push(`${what} = ${String(v)} (${r.gate.takeCost()} ns at ${r.sim.now})`);
  r.gate.setTrapArea(1, L.bar0, L.bar0 + L.bar0Size, true);
  enableMsi(r, 1, 2);
  for (let i = 0; i < 6; i++) {
    log(`dmaMapGuestPage(${200 + i})`, r.gate.dmaMapGuestPage(1, 200 + i, PAGE_SIZE));
    log(`enablePageTrack(${210 + i})`, r.gate.enablePageTrack(1, 210 + i));
    r.gate.guestMemWrite(1, (210 + i) * PAGE_SIZE, 4, i);
    log(`guestMemWrite(${210 + i})`, r.core.wp.length);
    log(`guestMmioRead(${i})`, r.gate.guestMmioRead(1, L.bar0 + 0x2000 + 4 * i, 4));
    r.gate.guestMmioWrite(1, L.bar0 + 0x2000 + 4 * i, 4, i);
    log(`guestMmioWrite(${i})`, r.core.writes.length);
    log(`readGpa(${i})`, r.gate.readGpa(1, (220 + i) * PAGE_SIZE, new Uint8Array(1024)));
    log(`gfnToMfn(${230 + i})`, r.gate.gfnToMfn(1, 230 + i));
    log(`injectMsi(${i})`, r.gate.injectMsi(1, MSI_ADDR, MSI_DATA));
    r.sim.runFor(1_000_000);
    r.gate.vgpuDescheduled(1);
    log(`msis(${i})`, r.msis.map((m) => m.at).join(","));
  }
  log("dmaMapGuestPage(2M)", r.gate.dmaMapGuestPage(1, L.hugeAligned, PAGE_SIZE_2M));
  return out;
}

/** The first place two JSON values differ, as "path: a vs b" ("" if equal). */
export function firstDifference(a: unknown, b: unknown, path: string): string {
  if (Object.is(a, b)) return "";
  const show = (v: unknown) => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 60 ? s.slice(0, 57) + "..." : s;
  };
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return `${path}: ${show(a)} vs ${show(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: ${show(a)} vs ${show(b)}`;
  const ka = Object.keys(a), kb = Object.keys(b);
  for (const k of ka) {
    const sub = Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`;
    if (!Object.hasOwn(b, k)) {
      return `${sub}: ${show((a as Record<string, unknown>)[k])} vs (missing)`;
    }
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      sub,
    );
    if (d !== "") return d;
  }
  const extra = kb.find((k) => !Object.hasOwn(a, k));
  return extra === undefined
    ? ""
    : `${path}.${extra}: (missing) vs ${show((b as Record<string, unknown>)[extra])}`;
}
