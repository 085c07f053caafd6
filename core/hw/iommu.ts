/**
 * DMA remapping between the GPU and host memory (an IOMMU, Intel VT-d style). A device
 * address the GPU uses need not be a host physical address: each vGPU has its own domain
 * (its id; PASID-granular translation, as with Scalable IOV or SR-IOV virtual functions), and
 * a hypervisor backend that attaches the domain hands out IOVAs (e.g. IOVA = guest-physical
 * address, as a type-2 hypervisor maps a VM's memory) and maps each 4 KiB IOVA page to the
 * host frame behind it. A domain nobody attached is passthrough (device address = host physical address, as with
 * `iommu=pt`), and domain 0, the host's (the mediator's shadow page tables, shadow contexts
 * and rings, the native driver), always is.
 *
 * One IOVA page is reserved in every domain, as IOMMU drivers reserve the MSI window: the
 * host's scratch page at {@link SCRATCH_IOVA}, so the mediator can point any entry at scratch
 * whichever domain the GPU translates it in.
 *
 * Tables are two-level like the hardware's (a directory of 2 MiB leaves of 512 Int32 frame
 * numbers, -1 = not mapped): a translation is two typed-array reads and allocates nothing.
 */

import { PAGE_SIZE, pageOffset } from "./memory.ts";

const LEAF = 512;
const HUGE = PAGE_SIZE * LEAF;

/** Device addresses are 39 bits (gen8 PTE address bits 38:12). */
export const DMA_LIMIT: number = 2 ** 39;
/** The device address of the host's scratch page in every domain (the last 4 KiB page). */
export const SCRATCH_IOVA: number = DMA_LIMIT - PAGE_SIZE;
/** Domains by default: the host's (0) and one per vGPU id (gScale mode asks for more). */
export const IOMMU_DOMAINS = 16;

/** A mapping the IOMMU refused. */
export type IommuMapResult = "ok" | "bad_iova" | "bad_frame" | "busy";

/** The platform's IOMMU: one table per domain. */
export class Iommu {
  /** Per domain: 1 while translation is on (a backend attached it), 0 passthrough. */
  readonly translating: Uint8Array;
  /** Per domain: IOVA pages mapped now. */
  readonly mapped: Float64Array;
  /** Translations that found no mapping (the DMA fails, as an IOMMU fault). */
  faults = 0;
  /**
   * Mappings removed and domains attached or reset so far: what can make an address that
   * reached a frame reach another or none (the invariant checker skips sweeps meanwhile).
   */
  changes = 0;
  /** Per domain: directory of 2 MiB leaves by `iova / 2 MiB` (null: nothing mapped there). */
  private readonly dirs: (Int32Array | null)[][] = [];

  /**
   * Creates the IOMMU of a host.
   * @param frames host memory frames (a mapping must name one of them)
   * @param scratchMfn the host's scratch frame, reachable at {@link SCRATCH_IOVA}
   * @param domains domains it has: the host's and vGPU ids 1 .. domains - 1
   */
  constructor(
    readonly frames: number,
    readonly scratchMfn: number,
    readonly domains: number = IOMMU_DOMAINS,
  ) {
    this.translating = new Uint8Array(domains);
    this.mapped = new Float64Array(domains);
    for (let d = 0; d < domains; d++) this.dirs.push([]);
  }

  /**
   * The host physical address the GPU reaches at device address `addr` in `domain`, or -1
   * when a translating domain has no mapping there (an IOMMU fault, counted in
   * {@link faults}).
   */
  translate(domain: number, addr: number): number {
    const pa = this.resolve(domain, addr);
    if (pa < 0) this.faults++;
    return pa;
  }

  /** What {@link translate} answers, without counting a fault (for checkers and tools). */
  resolve(domain: number, addr: number): number {
    if (addr >= SCRATCH_IOVA) {
      return addr < DMA_LIMIT ? this.scratchMfn * PAGE_SIZE + pageOffset(addr) : -1;
    }
    if (this.translating[domain] === 0) return addr;
    const m = this.lookup(domain, addr);
    return m < 0 ? -1 : m * PAGE_SIZE + pageOffset(addr);
  }

  /** The host frame IOVA page `iova` maps to in `domain`, or -1 (passthrough: not asked). */
  lookup(domain: number, iova: number): number {
    const dir = this.dirs[domain];
    const i = Math.floor(iova / HUGE);
    const leaf = i >= 0 && i < dir.length ? dir[i] : null;
    return leaf === null ? -1 : leaf[Math.floor(iova / PAGE_SIZE) % LEAF];
  }

  /** A vGPU domain this IOMMU has (not the host's 0). */
  private valid(d: number): boolean {
    return Number.isInteger(d) && d > 0 && d < this.domains;
  }

  /** Turns translation on for `domain` (a backend attached it: `iommu_attach_device`). */
  attach(domain: number): void {
    if (this.valid(domain) && this.translating[domain] === 0) {
      this.translating[domain] = 1;
      this.changes++;
    }
  }

  /**
   * Maps IOVA page `iova` of `domain` to host frame `mfn`. Mapping a page again to the same
   * frame is harmless; to another frame it is refused ("busy"), as is an IOVA outside the
   * 39-bit space or in the reserved scratch page, or a frame outside host memory.
   */
  map(domain: number, iova: number, mfn: number): IommuMapResult {
    if (!this.valid(domain) || !Number.isInteger(iova) || iova < 0 || iova >= SCRATCH_IOVA) {
      return "bad_iova";
    }
    if (!Number.isInteger(mfn) || mfn < 0 || mfn >= this.frames) return "bad_frame";
    const dir = this.dirs[domain];
    const i = Math.floor(iova / HUGE);
    while (dir.length <= i) dir.push(null);
    let leaf = dir[i];
    if (leaf === null) {
      leaf = new Int32Array(LEAF).fill(-1);
      dir[i] = leaf;
    }
    const k = Math.floor(iova / PAGE_SIZE) % LEAF;
    if (leaf[k] === mfn) return "ok";
    if (leaf[k] >= 0) return "busy";
    leaf[k] = mfn;
    this.mapped[domain]++;
    return "ok";
  }

  /** Unmaps IOVA page `iova` of `domain` (nothing if not mapped). */
  unmap(domain: number, iova: number): void {
    if (!this.valid(domain) || !(iova >= 0)) return;
    const dir = this.dirs[domain];
    const i = Math.floor(iova / HUGE);
    const leaf = i < dir.length ? dir[i] : null;
    if (leaf === null) return;
    const k = Math.floor(iova / PAGE_SIZE) % LEAF;
    if (leaf[k] < 0) return;
    leaf[k] = -1;
    this.mapped[domain]--;
    this.changes++;
  }

  /** Every mapping of `domain` as (IOVA, host frame) pairs, in IOVA order (for checkers). */
  mappings(domain: number): [number, number][] {
    const out: [number, number][] = [];
    const dir = this.valid(domain) ? this.dirs[domain] : undefined;
    if (dir === undefined) return out; // (a checkpoint may claim more domains than it holds)
    dir.forEach((leaf, i) => {
      if (leaf === null) return;
      for (let k = 0; k < LEAF; k++) {
        if (leaf[k] >= 0) out.push([i * HUGE + k * PAGE_SIZE, leaf[k]]);
      }
    });
    return out;
  }

  /**
   * Detaches `domain` from the device and drops every mapping (the vGPU is gone): it is
   * passthrough again for the next vGPU with that id. Returns the mappings that were left.
   */
  reset(domain: number): number {
    if (!this.valid(domain)) return 0;
    const left = this.mapped[domain];
    this.changes++;
    this.dirs[domain].length = 0;
    this.mapped[domain] = 0;
    this.translating[domain] = 0;
    return left;
  }
}
