/**
 * The MPT contract as one table: every op the core calls on a hypervisor backend, whether a
 * backend must implement it, what the gate charges by default, what it returns when the op
 * fails, what it does when an optional op is absent, and what a "wrong" injected fault makes
 * it return. The gate's wrappers (core/mpt/gate.ts), the required/optional op lists the loader
 * validates, the default costs, the fault-op names the DSL accepts and the op table in
 * docs/plugins.md are all derived from {@link MPT_OPS}.
 *
 * Upstream: Linux `drivers/gpu/drm/i915/gvt/hypercall.h` `struct intel_gvt_mpt` (the
 * backend's function table) and `mpt.h` (the `intel_gvt_hypervisor_*` wrappers: an op is
 * optional there when the wrapper checks the pointer for NULL and returns a default, as for
 * `attach_vgpu`, `detach_vgpu`, `is_valid_gfn`, `set_trap_area`, `map_gfn_to_mfn`,
 * `set_opregion`, `set_edid`, `get/put_vfio_device`). Ops with no upstream member are
 * gvtsim's own: the trap path (`guest*`, which upstream is the hypervisor itself calling
 * `intel_gvt_ops.emulate_*`) and snapshot/crash hooks.
 * @module
 */

/** What an op returns, which decides its failure value and the gate's type check. */
export type MptReturn =
  /** 0 or a negative errno. */
  | "errno"
  /** A frame number, or -1. */
  | "frame"
  /** A device (DMA) address, or a negative errno. */
  | "dma"
  /** true / false. */
  | "bool"
  /** A register value read by the guest. */
  | "value"
  /** Nothing. */
  | "void"
  /** A per-vGPU handle (anything). */
  | "handle"
  /** A saved state (anything JSON-like). */
  | "state";

/**
 * What a "wrong" fault (a plausible wrong answer) does to an op:
 * `ok` returns success without calling the backend; `skip` drops the call (void ops, save,
 * restore); `none` has no effect; `poison` fills the read buffer with 0xa5; `next` returns the
 * next frame; `foreign` returns a DMA address the VM does not own; `invert` inverts a boolean;
 * `flip` flips the low bit of a value read.
 */
export type MptWrong = "ok" | "skip" | "none" | "poison" | "next" | "foreign" | "invert" | "flip";

/**
 * When the core calls an op through the gate: `run` throughout a run, `build` once when the
 * world is built, `migration` while a VM migrates between hosts (timeline `migrate`), `never` (only the conformance kit calls it: checkpoints call `save`/
 * `restore` on the backend directly, nothing unregisters the backend during a run, and no
 * core path asks for a guest frame's machine frame). Fault rules on `never` ops could never
 * fire; the kit's whole-system stage must see every `run`/`build` op called.
 */
export type MptCalled = "run" | "build" | "migration" | "never";

/** One MPT op, as the gate, the loader and the docs see it. */
export interface MptOpSpec {
  /** The op's name (a backend method). */
  readonly name: MptOpKey;
  /** The upstream member of `struct intel_gvt_mpt` (hypercall.h), or "" if gvtsim's own. */
  readonly upstream: string;
  /** A backend must implement it (upstream calls it without a NULL check). */
  readonly required: boolean;
  /** ns the gate charges per call when the backend declares no cost. */
  readonly cost: number;
  /** What it returns. */
  readonly returns: MptReturn;
  /** The value the gate returns when the op fails, throws or an `error` fault hits it. */
  readonly failure: number | boolean | "all ones" | null;
  /** How a failure shows for ops with no failure value (docs text), e.g. "vGPU not attached". */
  readonly failureNote: string;
  /** What the gate does when an optional op is absent (docs text; "" for required ops). */
  readonly fallback: string;
  /** The value the gate returns for an absent optional op (when no special fallback). */
  readonly absent: number | boolean | null;
  /** Takes a per-vGPU handle as its first argument. */
  readonly vgpu: boolean;
  /** Part of the trap path: a failure is an emulation error (`opFailed`). */
  readonly trap: boolean;
  /** Wrapped by the gate (counted, costed, faultable); false for queries the gate asks. */
  readonly gated: boolean;
  /** What a `wrong` fault does. */
  readonly wrong: MptWrong;
  /** When the core calls it through the gate. */
  readonly called: MptCalled;
  /** What the core expects of the backend (docs text). */
  readonly contract: string;
}

import type { MptOpKey } from "./types.ts";

const ERRNO_EIO = -5, ERRNO_ENOMEM = -12;

/** Builds a row with the common defaults. */
function op(
  name: MptOpKey,
  upstream: string,
  required: boolean,
  cost: number,
  returns: MptReturn,
  contract: string,
  more: Partial<MptOpSpec> = {},
): MptOpSpec {
  const failure: MptOpSpec["failure"] = returns === "errno"
    ? ERRNO_EIO
    : returns === "dma"
    ? ERRNO_ENOMEM
    : returns === "frame"
    ? -1
    : returns === "bool"
    ? false
    : returns === "value"
    ? "all ones"
    : null;
  return {
    name,
    upstream,
    required,
    cost,
    returns,
    failure,
    failureNote: "",
    fallback: "",
    absent: returns === "errno" ? 0 : returns === "frame" ? -1 : null,
    vgpu: true,
    trap: false,
    gated: true,
    wrong: returns === "errno" ? "ok" : returns === "void" ? "skip" : "none",
    called: "run",
    contract,
    ...more,
  };
}

/**
 * Every MPT op, in a fixed order (the gate numbers ops by their index among the gated ones).
 * Upstream column: hypercall.h `struct intel_gvt_mpt` member; optional/required as mpt.h's
 * `intel_gvt_hypervisor_*` wrappers treat it.
 */
export const MPT_OPS: readonly MptOpSpec[] = [
  op(
    "hostInit",
    "host_init",
    false,
    0,
    "void",
    "keep `ops` (emulate MMIO/cfg, write-protect handler, life-cycle callbacks)",
    {
      vgpu: false,
      fallback: "nothing (the backend gets no callbacks)",
      failureNote: "init failed",
      called: "build",
    },
  ),
  op("hostExit", "host_exit", false, 0, "void", "drop everything", {
    vgpu: false,
    fallback: "nothing",
    called: "never",
  }),
  op(
    "attachVgpu",
    "attach_vgpu",
    false,
    10_000,
    "handle",
    "a per-vGPU handle; `info` has vCPUs, RAM, BAR0/BAR2/cfg bases",
    {
      fallback: "the handle is the VgpuInfo",
      failureNote: "vGPU not attached",
    },
  ),
  op(
    "detachVgpu",
    "detach_vgpu",
    false,
    10_000,
    "void",
    "release every pin, protection and mapping of this handle only; a second call must be harmless",
    {
      fallback: "nothing (the gate forgets the handle)",
    },
  ),
  op(
    "injectMsi",
    "inject_msi",
    true,
    1_000,
    "bool",
    "deliver via `ctx.deliverMsi` only if the guest enabled MSI in its config space; true if delivered",
    {
      wrong: "ok",
    },
  ),
  op(
    "fromVirtToMfn",
    "from_virt_to_mfn (required upstream)",
    false,
    200,
    "frame",
    "the machine frame of a host address (OpRegion on type-1 designs); -1 if unknown",
    {
      vgpu: false,
      fallback: "-1",
      wrong: "next",
    },
  ),
  op(
    "enablePageTrack",
    "enable_page_track",
    true,
    1_000,
    "errno",
    "0; writes to the page reach `writeProtectHandler` only while enabled; invalid gfn: negative errno",
  ),
  op(
    "disablePageTrack",
    "disable_page_track",
    true,
    1_000,
    "errno",
    "0; later writes to the page are plain stores",
  ),
  op(
    "readGpa",
    "read_gpa",
    true,
    200,
    "errno",
    "0 and the bytes copied; any unbacked byte: negative errno and nothing copied",
    {
      wrong: "poison",
    },
  ),
  op(
    "writeGpa",
    "write_gpa",
    true,
    200,
    "errno",
    "0 and the bytes copied; any unbacked byte: negative errno and nothing written",
  ),
  op(
    "gfnToMfn",
    "gfn_to_mfn",
    true,
    100,
    "frame",
    "the machine frame backing the gfn; -1 if not RAM",
    {
      wrong: "next",
      // upstream's one caller is gtt.c is_2MB_gtt_possible (is the host page huge?), which
      // gvtsim does not model: a 2 MiB entry is shadowed whole when dmaMapGuestPage maps it
      called: "never",
    },
  ),
  op(
    "dmaMapGuestPage",
    "dma_map_guest_page",
    true,
    500,
    "dma",
    "a device address for the gfn's 4 KiB or 2 MiB page (host physical, or an IOVA the vGPU's IOMMU domain maps), stable per gfn, distinct per gfn, refcounted, reaching only this VM's frames (2 MiB: the whole range); not RAM: negative errno (the core uses scratch)",
    {
      wrong: "foreign",
    },
  ),
  op(
    "dmaUnmapGuestPage",
    "dma_unmap_guest_page",
    true,
    300,
    "void",
    "drop one reference; the mapping goes when it reaches zero",
  ),
  op(
    "dmaPinGuestPage",
    "dma_pin_guest_page (required upstream)",
    false,
    100,
    "errno",
    "one more reference on a live mapping; unknown address: negative errno",
    {
      fallback: "map the same gfn again",
      failure: ERRNO_ENOMEM,
    },
  ),
  op("mapGfnToMfn", "map_gfn_to_mfn", false, 2_000, "errno", "map/unmap the aperture slice", {
    fallback: "0",
  }),
  op(
    "setTrapArea",
    "set_trap_area",
    false,
    2_000,
    "errno",
    "trap [start, end) (BAR0) from now on",
    {
      fallback: "0",
    },
  ),
  op("isValidGfn", "is_valid_gfn", false, 50, "bool", "false for holes, out of range, negative", {
    fallback: "true (as mpt.h); an invalid gfn then fails in dmaMapGuestPage",
    absent: true,
    wrong: "invert",
  }),
  op("setOpregion", "set_opregion", false, 5_000, "errno", "0 (expose the virtual OpRegion)", {
    fallback: "0",
  }),
  op("setEdid", "set_edid", false, 5_000, "errno", "0 (expose a virtual EDID on a port)", {
    fallback: "0",
  }),
  op(
    "getVfioDevice",
    "get_vfio_device",
    false,
    100,
    "errno",
    "0 (a reference for a new dma-buf object of the display)",
    {
      fallback: "0",
    },
  ),
  op("putVfioDevice", "put_vfio_device", false, 100, "void", "drop a dma-buf object's reference", {
    fallback: "nothing",
  }),
  op(
    "guestMmioRead",
    "",
    true,
    3_000,
    "value",
    "BAR0/cfg: the core's value (`emulateMmioRead`/`emulateCfgRead`); elsewhere all ones and the core is not called; never throw",
    {
      trap: true,
      wrong: "flip",
    },
  ),
  op(
    "guestMmioWrite",
    "",
    true,
    3_000,
    "void",
    "BAR0/cfg: `emulateMmioWrite(id, gpa - bar0, size, v)` (split pieces allowed if bytes are exact), any size 1/2/4/8; never throw",
    {
      trap: true,
    },
  ),
  op(
    "guestMemWrite",
    "",
    true,
    0,
    "void",
    "tracked page: `writeProtectHandler`, memory untouched; else a plain store",
    {
      trap: true,
    },
  ),
  op("vgpuDescheduled", "", false, 0, "void", "flush per-schedule state, e.g. a dirty log", {
    fallback: "nothing",
  }),
  op(
    "dirtyLog",
    "",
    false,
    20_000,
    "errno",
    "start (`on`) or stop logging the VM's dirty pages (the MMU's dirty tracking of all guest RAM); live migration's pre-copy",
    {
      fallback: "0 (no log: every page counts as dirty in each round)",
      called: "migration",
    },
  ),
  op(
    "dirtyLogSync",
    "",
    false,
    5_000,
    "errno",
    "get-and-clear: `bitmap[gfn] = 1` for each page the guest CPU wrote since the last call; GPU writes are not in it",
    {
      fallback: "every page of the bitmap set (each round resends all of RAM)",
      called: "migration",
    },
  ),
  op("save", "", false, 0, "state", "snapshot this handle's whole state (JSON-like)", {
    fallback: "no snapshot (replay)",
    failureNote: "undefined",
    wrong: "skip",
    called: "never",
  }),
  op(
    "restore",
    "",
    false,
    0,
    "void",
    "restore state from `save` so that `save` gives it back unchanged",
    {
      fallback: "no snapshot (replay)",
      failureNote: "restore fails",
      wrong: "skip",
      called: "never",
    },
  ),
  op("crashed", "", false, 0, "bool", "whether the VM's domain was crashed by an emulation error", {
    vgpu: false,
    gated: false,
    fallback: "false",
    absent: false,
  }),
  op(
    "opFailed",
    "",
    false,
    0,
    "bool",
    "a trapped access failed; true if the backend crashed the domain",
    {
      vgpu: false,
      gated: false,
      fallback: "false",
      absent: false,
    },
  ),
];

/** Ops the gate wraps (counted, costed, faultable), in gate order. */
export const GATED_OPS: readonly MptOpSpec[] = MPT_OPS.filter((o) => o.gated);

/** Ops a backend must implement. */
export const REQUIRED_OP_NAMES: readonly MptOpKey[] = MPT_OPS.filter((o) => o.required).map((o) =>
  o.name
);

/** Ops a backend may leave out (the gate then uses the row's fallback). */
export const OPTIONAL_OP_NAMES: readonly MptOpKey[] = MPT_OPS.filter((o) => !o.required).map((
  o,
) => o.name);

/** The row of an op by name (undefined if no such op). */
export function mptOp(name: string): MptOpSpec | undefined {
  return MPT_OPS.find((o) => o.name === name);
}

function failureText(o: MptOpSpec): string {
  const f = o.failure;
  if (o.failureNote !== "") return o.failureNote;
  if (f === null) return "-";
  if (typeof f === "number" && f < 0 && o.returns !== "frame") {
    return f === ERRNO_ENOMEM ? "`-ENOMEM`" : "`-EIO`";
  }
  return String(f);
}

const CALLED_TEXT: Record<MptCalled, string> = {
  run: "called",
  build: "once, at build",
  migration: "in migrations",
  never: "not called",
};

/** The op table of docs/plugins.md, rendered from {@link MPT_OPS} (markdown). */
export function mptOpTable(): string {
  const rows = MPT_OPS.map((o) => [
    `\`${o.name}\``,
    o.required ? "required" : "optional",
    o.contract,
    failureText(o),
    o.required ? "-" : o.fallback,
    o.gated ? o.cost.toLocaleString("en-US").replaceAll(",", " ") : "-",
    o.gated ? CALLED_TEXT[o.called] : "queried",
    o.upstream === "" ? "(gvtsim)" : `\`${o.upstream}\``,
  ]);
  const head = [
    "op",
    "",
    "the core expects",
    "failure value",
    "if absent",
    "default ns",
    "in a run",
    "upstream",
  ];
  const w = head.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(" | ")} |`;
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n");
}
