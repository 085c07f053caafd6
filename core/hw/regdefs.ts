/**
 * The register table of one platform: the rows of the block tables (core/hw/registers/)
 * expanded into one definition per dword that exists on the platform, with its name,
 * offset, reset value, access flags, named bit fields, side-effect class and whether GPU
 * commands may write it there (the scanner's whitelist). Offsets not in the table are
 * plain storage (gvt's default handler), so the table lists what has semantics or is
 * whitelisted, not every register of the part. The hardware model, the mediator's handler
 * table and the REPL all read this one table.
 */

import type { BitField } from "./bits.ts";
import { ENGINES } from "./engines.ts";
import {
  DEFAULT_PLATFORM,
  onPlatform,
  type Platform,
  PLATFORM_IDS,
  PLATFORMS,
} from "./platform.ts";
import { DISPLAY_ROWS } from "./registers/display.ts";
import { gtRows } from "./registers/gt.ts";
import { IRQ_ROWS } from "./registers/irq.ts";
import { RENDER_ROWS } from "./registers/render.ts";
import { RING_ROWS } from "./registers/ring.ts";
import type { RegRow } from "./registers/row.ts";

export {
  SEM_CSB_PTR,
  SEM_DSPSURF,
  SEM_ELSP,
  SEM_EXECLIST_STATUS,
  SEM_FENCE,
  SEM_FORCEWAKE,
  SEM_GDRST,
  SEM_IRQ,
  SEM_MASTER_IRQ,
  SEM_PIPECONF,
  SEM_PLAIN,
  SEM_TIMESTAMP,
} from "./registers/row.ts";

/** Flag: the whole register is read-only. */
export const REG_RO = 1 << 0;
/** Flag: masked register (bits 31:16 enable writes of bits 15:0). */
export const REG_MASKED = 1 << 1;
/** Flag: write 1 to clear. */
export const REG_W1C = 1 << 2;
/** Flag: commands may write it on this platform (gvt F_CMD_ACCESS). */
export const REG_CMD_ACCESS = 1 << 3;
/** Flag: holds a graphics memory address (gvt F_GMADR). */
export const REG_GMADR = 1 << 4;

const NO_FIELDS: Readonly<Record<string, BitField>> = {};

/** One register dword of a platform. */
export interface RegDef {
  /** BAR0 offset. */
  readonly offset: number;
  /** i915 name (engine-prefixed for ring registers, `(i)` for ranges). */
  readonly name: string;
  /** The kind of register handler tables bind to (the row's group, else its name). */
  readonly group: string;
  /** Value after reset. */
  readonly reset: number;
  /** Read-only bits (ignored for REG_RO registers, which are wholly read-only). */
  readonly roMask: number;
  /** REG_* flags on this platform. */
  readonly flags: number;
  /** Side-effect class (SEM_*). */
  readonly sem: number;
  /** Engine, pipe, group or forcewake pair the register belongs to (-1 if none). */
  readonly unit: number;
  /** Named bit fields. */
  readonly fields: Readonly<Record<string, BitField>>;
  /** Platforms where the register exists (D_* mask). */
  readonly exists: number;
  /** Platforms where commands may write it (D_* mask). */
  readonly cmdOn: number;
}

/** Expands one row at `base` (0, or an engine's ring base) with a name prefix. */
function expand(out: RegDef[], r: RegRow, base: number, prefix: string, unit: number, p: Platform) {
  const exists = r.exists ?? PLATFORMS_ALL;
  if (!onPlatform(exists, p)) return;
  const cmdOn = r.cmd ?? 0;
  let flags = 0;
  if (r.access === "ro") flags |= REG_RO;
  if (r.access === "masked") flags |= REG_MASKED;
  if (r.access === "w1c") flags |= REG_W1C;
  if (onPlatform(cmdOn, p)) flags |= REG_CMD_ACCESS;
  if (r.gmadr) flags |= REG_GMADR;
  const count = r.count ?? 1;
  for (let i = 0; i < count; i++) {
    const name = count === 1 ? r.name : r.nameOf ? r.nameOf(i) : `${r.name}(${i})`;
    out.push({
      offset: base + r.offset + 4 * i,
      name: prefix + name,
      group: r.group ?? r.name,
      reset: (r.reset ?? 0) >>> 0,
      roMask: (r.roMask ?? 0) >>> 0,
      flags,
      sem: r.sem ?? 0,
      unit: r.unit ?? unit,
      fields: r.fields ?? NO_FIELDS,
      exists,
      cmdOn,
    });
  }
}

const PLATFORMS_ALL = PLATFORM_IDS.reduce((m, id) => m | PLATFORMS[id].device, 0);

/** The register table of `platform` for a GPU with `fences` fence registers. */
export function buildRegisterDefs(fences: number, platform: Platform = DEFAULT_PLATFORM): RegDef[] {
  const d: RegDef[] = [];
  for (const e of ENGINES) {
    if (!platform.engines.includes(e.name)) continue;
    for (const r of RING_ROWS) expand(d, r, e.mmioBase, `${e.prefix}_`, e.id, platform);
  }
  for (const r of [...gtRows(fences), ...IRQ_ROWS, ...DISPLAY_ROWS, ...RENDER_ROWS]) {
    expand(d, r, 0, "", -1, platform);
  }
  return d;
}

/** The offsets commands may write on `platform` (the F_CMD_ACCESS set), ascending. */
export function cmdAccessOffsets(platform: Platform, fences = 32): number[] {
  return buildRegisterDefs(fences, platform)
    .filter((r) => (r.flags & REG_CMD_ACCESS) !== 0)
    .map((r) => r.offset)
    .sort((a, b) => a - b);
}

let byName: Map<string, number> | null = null;

/** Every register name of the tables (any platform) with its offset. */
function names(): Map<string, number> {
  if (byName === null) {
    byName = new Map();
    for (const id of PLATFORM_IDS) {
      for (const d of buildRegisterDefs(32, PLATFORMS[id])) byName.set(d.name, d.offset);
    }
  }
  return byName;
}

/** The BAR0 offset of a register by its table name (any platform), or undefined. */
export function registerOffsetOrUndefined(name: string): number | undefined {
  return names().get(name);
}

/**
 * The BAR0 offset of a register by its table name (any platform), e.g. "BCS_SWCTRL",
 * "VCS_RING_SYNC_0", "GEN9_GFX_MOCS(3)"; a RangeError for a name the tables lack.
 */
export function registerOffset(name: string): number {
  const off = names().get(name);
  if (off === undefined) throw new RangeError(`no register named ${name}`);
  return off;
}

/** Every register name of the tables (any platform), sorted. */
export function registerNames(): string[] {
  return [...names().keys()].sort();
}
