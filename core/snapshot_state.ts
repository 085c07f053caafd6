/**
 * Heap snapshots of a {@link World}: a generic, cycle-aware object-graph serialiser over the
 * world's data, taken at a quiescent point (between two events).
 *
 * Capture walks the graph breadth-first from the world and gives every object an id; an
 * object is recorded with its canonical path (the first path the walk reached it by), its
 * kind and, for class instances, a registry name ({@link SNAPSHOT_CLASSES}), so it is
 * re-created with the right prototype. Typed arrays are recorded as views of their buffers
 * (buffers as base64, shared buffers once); Maps, Sets, arrays (sparse ones as index/value
 * pairs) and plain objects by their contents. Function values are not data: a function is
 * recorded only by its canonical path.
 *
 * Restore takes a world freshly built from the same scenario (which holds every
 * function-valued part: handler tables, closures over the world's objects, backend methods)
 * and replaces its data in place: an object of the snapshot whose canonical path reaches an
 * object of the same kind and class in the fresh world reuses that object (so closures that
 * captured it see the restored data), every other one is created; function slots keep the
 * fresh world's function at the same path.
 *
 * Backend handles are opaque to the walk (`MptGate.handles`): the backend serialises them
 * through its `save(handle)` / `restore(handle, state)` (core/snapshot.ts).
 * @module
 */

import { World } from "./world.ts";
import { HostRuntime, VmRuntime } from "./world.ts";
import { Migration } from "./migration.ts";
import { Process, Sim } from "./sim/sim.ts";
import { EventQueue } from "./sim/queue.ts";
import { Rng, Streams } from "./sim/rng.ts";
import { FaultState, MptGate } from "./mpt/gate.ts";
import { IommuDomain, SimBackendContext } from "./mpt/context.ts";
import { Iommu } from "./hw/iommu.ts";
import { TraceLog } from "./metrics/trace.ts";
import { TraceLogTracer } from "./gvt/tracer.ts";
import { Gvt } from "./gvt/vgpu.ts";
import { ExeclistSlot, VirtualExeclist } from "./gvt/execlist.ts";
import { Scanner, ScanResult } from "./gvt/scanner.ts";
import { GgttShadow, VirtualGgtt } from "./gvt/gtt.ts";
import { Gscale, PrivateGtt } from "./gvt/gscale.ts";
import {
  AuxChHandler,
  CsfeChickenHandler,
  ElspHandler,
  FenceHandler,
  ForcewakeHandler,
  GdrstHandler,
  HwWhenOwnedHandler,
  IrqHandler,
  PipeconfHandler,
  PvinfoHandler,
  RingModeHandler,
  SurfHandler,
  TimestampHandler,
  TlbHandler,
} from "./gvt/handlers.ts";
import { AuditVerdict } from "./gvt/cmd_audit.ts";
import { MmioEmulator, MmioTable } from "./gvt/mmio.ts";
import { SlicePolicy } from "./gvt/policies/slices.ts";
import { TbsPolicy } from "./gvt/policies/tbs.ts";
import { PpgttMm, PpgttShadow, ShadowPage, VgpuPpgtt } from "./gvt/ppgtt.ts";
import { Workload } from "./gvt/workload.ts";
import { HostBuffer, HostGm } from "./gvt/host_gm.ts";
import { ShadowContexts } from "./gvt/shadow_ctx.ts";
import { Dispatcher } from "./gvt/dispatch.ts";
import { VirtualDisplay } from "./gvt/display.ts";
import { InvariantChecker } from "./gvt/invariant.ts";
import { GmPartition, RangeAllocator } from "./gvt/resources.ts";
import { GvtCounters, VgpuCounters } from "./gvt/counters.ts";
import { Samples } from "./metrics/samples.ts";
import { CompletionHistory, PointHistory, SpanHistory } from "./metrics/history.ts";
import { LogHistogram } from "./metrics/histogram.ts";
import { OosPage, OosPool } from "./gvt/oos.ts";
import { GvtScheduler } from "./gvt/sched.ts";
import { Vgpu, VgpuSchedData } from "./gvt/vgpu_state.ts";
import { VgpuOpregion } from "./gvt/opregion.ts";
import { DmabufExport, DmabufHandle, DmabufObject, VgpuDmabufs } from "./gvt/dmabuf.ts";
import { VirtualIrq } from "./gvt/irq.ts";
import { CommandStreamer, StreamerStats } from "./hw/streamer.ts";
import { Execlists } from "./hw/execlist.ts";
import { CommandFault } from "./hw/fault.ts";
import { Gpu } from "./hw/gpu.ts";
import { HostMemory } from "./hw/memory.ts";
import { LazyInt32Array } from "./hw/lazy_array.ts";
import { Display } from "./hw/display.ts";
import { IrqUnit } from "./hw/irq.ts";
import { PciConfig } from "./hw/pci.ts";
import { WorkloadRunner } from "./workload/runner.ts";
import { DriverBatchOptions, EngineState, GfxObject, GuestDriver } from "./guest/driver.ts";
import { GuestMemory } from "./guest/memory.ts";
import { GuestMetrics, LatencyStats } from "./guest/metrics.ts";
import { fillPattern, isZero, PIECE, sameBytes, zeroRange } from "./snapshot_bytes.ts";

/** A class, as far as a snapshot needs one: its prototype. */
type AnyClass = { readonly prototype: object };

/** The classes whose instances a world snapshot may hold, by registry name. */
export const SNAPSHOT_CLASSES: Readonly<Record<string, AnyClass>> = {
  World,
  VmRuntime,
  HostRuntime,
  Migration,
  Sim,
  EventQueue,
  Process,
  Rng,
  Streams,
  MptGate,
  FaultState,
  SimBackendContext,
  IommuDomain,
  Iommu,
  TraceLog,
  TraceLogTracer,
  Gvt,
  ExeclistSlot,
  VirtualExeclist,
  ScanResult,
  Scanner,
  GgttShadow,
  VirtualGgtt,
  Gscale,
  PrivateGtt,
  ElspHandler,
  FenceHandler,
  ForcewakeHandler,
  GdrstHandler,
  HwWhenOwnedHandler,
  IrqHandler,
  PipeconfHandler,
  PvinfoHandler,
  RingModeHandler,
  SurfHandler,
  TimestampHandler,
  TlbHandler,
  AuxChHandler,
  CsfeChickenHandler,
  AuditVerdict,
  MmioEmulator,
  MmioTable,
  SlicePolicy,
  TbsPolicy,
  PpgttMm,
  PpgttShadow,
  ShadowPage,
  VgpuPpgtt,
  Workload,
  HostBuffer,
  HostGm,
  ShadowContexts,
  Dispatcher,
  VirtualDisplay,
  InvariantChecker,
  GmPartition,
  RangeAllocator,
  GvtCounters,
  Samples,
  SpanHistory,
  PointHistory,
  CompletionHistory,
  LogHistogram,
  VgpuCounters,
  OosPage,
  OosPool,
  GvtScheduler,
  Vgpu,
  VgpuSchedData,
  VgpuOpregion,
  DmabufExport,
  DmabufHandle,
  DmabufObject,
  VgpuDmabufs,
  VirtualIrq,
  CommandStreamer,
  StreamerStats,
  CommandFault,
  Execlists,
  Gpu,
  HostMemory,
  LazyInt32Array,
  Display,
  IrqUnit,
  PciConfig,
  WorkloadRunner,
  DriverBatchOptions,
  EngineState,
  GfxObject,
  GuestDriver,
  GuestMemory,
  GuestMetrics,
  LatencyStats,
};

const TYPED: Readonly<
  Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView>
> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
};

/** An encoded value: a JSON primitive, or a tag for the rest. */
export type EncodedValue =
  | number
  | string
  | boolean
  | null
  | { $r: number }
  | { $u: 1 }
  | { $n: string };

/** A value stored as itself: a JSON primitive. */
export type PlainValue = number | string | boolean | null;

/** A value that is not a JSON primitive: undefined, or a number JSON cannot hold. */
export type TaggedValue = { $u: 1 } | { $n: string };

/**
 * One object of a heap snapshot. Objects (`o`) and arrays (`a`), the bulk of a world, hold
 * their fields or elements as plain values, in order (so they are laid with one native
 * `Object.assign` or copy); a field or element that refers to another record holds 0 there
 * and is listed in `r` (key, record id, key, record id, ...), a tagged one in `x`.
 */
export type HeapRecord =
  | {
    k: "o";
    p: string;
    c?: string;
    f: Record<string, PlainValue>;
    r?: (string | number)[];
    x?: [string, TaggedValue][];
  }
  | { k: "a"; p: string; e: PlainValue[]; r?: number[]; x?: [number, TaggedValue][] }
  | { k: "sa"; p: string; n: number; e: [number, EncodedValue][] }
  | { k: "m"; p: string; e: [EncodedValue, EncodedValue][] }
  | { k: "s"; p: string; e: EncodedValue[] }
  | { k: "b"; p: string; n: number; d: BufferSegment[] }
  | { k: "t"; p: string; c: string; b: number; o: number; n: number }
  | { k: "f"; p: string }
  | { k: "z"; p: string };

/**
 * A run of a buffer: `[offset, base64]` (bytes), `[offset, bytes, word]` (`bytes / 4` copies
 * of one 32-bit little-endian word) or `[offset, bytes, lo, hi]` (`bytes / 8` copies of one
 * 64-bit pattern, low word first). Bytes not covered by a segment are zero.
 */
export type BufferSegment =
  | [number, string]
  | [number, number, number]
  | [number, number, number, number];

/** The object graph of a world: records in walk order; record 0 is the world. */
export interface HeapSnapshot {
  /** Every object reached, by id. */
  objects: HeapRecord[];
}

/** The world graph cannot be captured or restored: one clear line. */
export class HeapError {
  /**
   * Creates the error.
   * @param message what is wrong, with the path in the world graph
   * @param incomplete the world was built with `restoreOnly` and lacks a function the
   *   snapshot needs: a world built in full may take it
   */
  constructor(readonly message: string, readonly incomplete = false) {}
}

/**
 * Parts of a world (canonical paths) built from the platform's tables when the world is built
 * and never written after: the register definitions and what the GPU and the MMIO handler
 * table derive from them, and module constants worlds share. A snapshot records only that they are there (kind `z`, nothing
 * under them is walked); restoring keeps the rebuilt world's. tests/snapshot_static_test.ts
 * checks that running scenarios leaves them as a freshly built world has them.
 */
export const SNAPSHOT_STATIC: readonly string[] = [
  "w.gpu.registerDefs",
  "w.gpu.flags",
  "w.gpu.sem",
  "w.gpu.unit",
  "w.gpu.ro",
  "w.gpu.reset0",
  "w.gvt.mmio.table.handlerOf",
  "w.gvt.mmio.table.roMask",
  "w.gvt.mmio.table.cls",
  // module constants every world shares (tests/snapshot_shared_test.ts): laying a checkpoint's
  // data over them would change them for every world of the process
  "w.gpu.config.platform",
  "w.gpu.streamers.0.sStore",
  "w.gvt.mmio.table.handlers.0",
];
const STATIC = new Set(SNAPSHOT_STATIC);

/**
 * A test for canonical paths at or under one of `roots`, as one anchored
 * regular expression: one native match per path, where a loop of `startsWith` over the roots
 * cost ~15 times more over a checkpoint's thousands of records.
 */
function underTest(roots: readonly string[]): RegExp {
  const literal = (r: string) => r.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^(?:${roots.map(literal).join("|")})(?:\\.|$)`);
}

/** Whether a path is a static part or inside one (only a `z` record may be there). */
const IN_STATIC = underTest(SNAPSHOT_STATIC);

/** Whether `key` of `owner` is outside the data graph (backend handles are opaque). */
function opaque(owner: object, key: string): boolean {
  return key === "handles" && owner instanceof MptGate;
}

const nameOfProto = new Map<object, string>(
  Object.entries(SNAPSHOT_CLASSES).map(([n, c]) => [c.prototype as object, n]),
);

// ------------------------------------------------------------------------------ buffers

const BLOCK = 1024;

/**
 * A block of raw bytes is written as base64 without its zero sub-blocks of this size: register
 * files and page tables hold scattered words, and a quarter of their raw blocks' bytes are in
 * zero sub-blocks (less to hash, read, parse and decode on restore; only raw blocks are looked
 * at again, so saving costs little more).
 */
const SUB_BLOCK = 256;

/**
 * Kind of one block of a buffer: 0 zero, 1 one repeated 32-bit word, 3 one repeated 64-bit
 * pattern (`pat` gets its low and high words), 2 anything else (raw bytes). A block is one
 * repeated 64-bit pattern when it equals itself shifted by 8 bytes (one native compare).
 */
function blockKind(
  u: Uint8Array,
  w: Uint32Array | null,
  at: number,
  end: number,
  pat: number[],
): number {
  if (w !== null && (end - at) % 8 === 0) {
    if (!sameBytes(u, at, at + 8, end - at - 8)) return 2;
    const lo = w[at >>> 2], hi = w[(at >>> 2) + 1];
    pat[0] = lo;
    pat[1] = hi;
    return lo !== hi ? 3 : lo === 0 ? 0 : 1;
  }
  return isZero(u, at, end) ? 0 : 2;
}

/** Whether `w[from..to)` are all zero (a sub-block: a JS loop costs less than a native call). */
function zeroWords(w: Uint32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (w[i] !== 0) return false;
  return true;
}

/**
 * A buffer as segments: zero runs left out, runs of one 32-bit word or one 64-bit pattern
 * (a Float64Array of -1, say) folded, the rest as base64.
 */
export function encodeBuffer(buf: ArrayBuffer): BufferSegment[] {
  const u = new Uint8Array(buf);
  const w = buf.byteLength % 8 === 0 ? new Uint32Array(buf) : null;
  const out: BufferSegment[] = [];
  if (isZero(u)) return out;
  const pat = [0, 0];
  let rawStart = -1, fillStart = -1, fillLo = 0, fillHi = 0;
  const flushRaw = (end: number) => {
    if (rawStart >= 0) out.push([rawStart, u.subarray(rawStart, end).toBase64()]);
    rawStart = -1;
  };
  const flushFill = (end: number) => {
    if (fillStart >= 0) {
      out.push(
        fillLo === fillHi
          ? [fillStart, end - fillStart, fillLo]
          : [fillStart, end - fillStart, fillLo, fillHi],
      );
    }
    fillStart = -1;
  };
  let pieceEnd = 0, pieceKind = 2;
  for (let at = 0; at < u.length; at += BLOCK) {
    const end = Math.min(u.length, at + BLOCK);
    if (at >= pieceEnd) {
      // a piece of blocks at once: when it is all zero or one pattern, so is every block
      pieceEnd = Math.min(u.length, at + PIECE);
      pieceKind = blockKind(u, w, at, pieceEnd, pat);
    }
    const k = pieceKind !== 2 ? pieceKind : blockKind(u, w, at, end, pat);
    const fill = k === 1 || k === 3;
    if (!fill || pat[0] !== fillLo || pat[1] !== fillHi) flushFill(at);
    if (k !== 2) flushRaw(at);
    if (fill) {
      if (fillStart < 0) {
        fillStart = at;
        fillLo = pat[0];
        fillHi = pat[1];
      }
    } else if (k === 2) {
      for (let sub = at; sub < end; sub += SUB_BLOCK) {
        const subEnd = Math.min(end, sub + SUB_BLOCK);
        if (w !== null ? zeroWords(w, sub >>> 2, subEnd >>> 2) : isZero(u, sub, subEnd)) {
          flushRaw(sub);
        } else if (rawStart < 0) rawStart = sub;
      }
    }
  }
  flushFill(u.length);
  flushRaw(u.length);
  return out;
}

/** Bytes a base64 segment's text stands for (padding counted off). */
function base64Bytes(s: string): number {
  return Math.floor((s.length / 4) * 3) - (s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0);
}

/**
 * Writes segments from {@link encodeBuffer} into `buf`; bytes no segment covers become zero
 * (`zeroed`: the buffer is new, so they are already). False if malformed.
 */
export function decodeBuffer(buf: ArrayBuffer, segs: unknown, zeroed = false): boolean {
  if (!Array.isArray(segs)) return false;
  const u = new Uint8Array(buf);
  // Zero only the gaps before each segment, beyond every byte written so far (so nothing
  // written is zeroed again, in any segment order): a reused buffer is not cleared and then
  // written over, and zero pages nobody wrote stay untouched.
  let covered = 0;
  const gapTo = (at: number) => {
    if (!zeroed && at > covered) zeroRange(u, covered, at);
  };
  for (const sg of segs) {
    if (!Array.isArray(sg)) return false;
    const at = sg[0];
    if (!Number.isInteger(at) || at < 0 || at > u.length) return false;
    let n: number;
    if (sg.length === 2 && typeof sg[1] === "string") {
      const s = sg[1];
      n = base64Bytes(s);
      if (s.length % 4 !== 0 || at + n > u.length) return false;
      gapTo(at);
      try {
        // decoded in place; strict: no whitespace, no stray bits in the last group
        const r = u.subarray(at, at + n).setFromBase64(s, { lastChunkHandling: "strict" });
        if (r.read !== s.length || r.written !== n) return false;
      } catch {
        return false;
      }
    } else if (sg.length === 3 || sg.length === 4) {
      n = sg[1];
      const lo = sg[2], hi = sg.length === 4 ? sg[3] : lo;
      const step = sg.length === 4 ? 8 : 4;
      if (
        !Number.isInteger(n) || n % step !== 0 || at + n > u.length || !Number.isInteger(lo) ||
        !Number.isInteger(hi)
      ) {
        return false;
      }
      gapTo(at);
      fillPattern(u, at, n, step, lo, hi);
    } else return false;
    covered = Math.max(covered, at + n);
  }
  gapTo(u.length);
  return true;
}

// ------------------------------------------------------------------------------ walking

function childPathOfKey(p: string, k: unknown, i: number): string {
  return typeof k === "object" && k !== null || typeof k === "function"
    ? `${p}.<k${i}>`
    : `${p}.<${typeof k}:${String(k)}>`;
}

/**
 * Visits the world graph breadth-first: `visit(x, path)` for every object or function the
 * first time it is reached. Children are reached in a fixed order (own enumerable string
 * keys, elements, entries), so the same graph gives the same paths.
 */
function walk(root: object, visit: (x: object, path: string) => void): void {
  const seen = new Set<object>();
  const queue: object[] = [root], paths: string[] = ["w"];
  seen.add(root);
  const reach = (x: unknown, p: string): void => {
    if ((typeof x !== "object" || x === null) && typeof x !== "function") return;
    if (seen.has(x as object)) return;
    seen.add(x as object);
    queue.push(x as object);
    paths.push(p);
  };
  // The loop only dispatches (small functions for the JIT, as in `layContents`).
  for (let qi = 0; qi < queue.length; qi++) {
    const x = queue[qi], p = paths[qi];
    visit(x, p);
    if (typeof x !== "function" && !STATIC.has(p)) reachChildren(x, p, reach);
  }
}

/** Reaches the children of `x` (at path `p`) in their fixed order (see {@link walk}). */
function reachChildren(x: object, p: string, reach: (x: unknown, p: string) => void): void {
  if (x instanceof ArrayBuffer) return;
  if (ArrayBuffer.isView(x)) {
    reach(x.buffer, `${p}.buffer`);
    return;
  }
  if (x instanceof Map) {
    let i = 0;
    for (const [k, v] of x) {
      reach(k, `${p}.<k${i}>`);
      reach(v, childPathOfKey(p, k, i));
      i++;
    }
    return;
  }
  if (x instanceof Set) {
    let i = 0;
    for (const v of x) reach(v, `${p}.<s${i++}>`);
    return;
  }
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v !== null && (typeof v === "object" || typeof v === "function")) reach(v, `${p}.${i}`);
    }
    return;
  }
  for (const k of Object.keys(x)) {
    const v = (x as Record<string, unknown>)[k];
    if (v === null || (typeof v !== "object" && typeof v !== "function")) continue;
    if (!opaque(x, k)) reach(v, `${p}.${k}`);
  }
}

// ------------------------------------------------------------------------------ capture

/**
 * A field's or element's encoded value as it is stored in an `o` or `a` record: plain values
 * as themselves; a reference (added to `r` as key, id) or a tag (added to `x`) as 0.
 */
function split<K extends string | number>(
  v: EncodedValue,
  key: K,
  r: (K | number)[],
  xs: [K, TaggedValue][],
): PlainValue {
  if (v === null || typeof v !== "object") return v;
  if ("$r" in v) r.push(key, v.$r);
  else xs.push([key, v]);
  return 0;
}

/** Captures the data graph of `w` (call between events). A {@link HeapError} for data it cannot hold. */
export function captureHeap(w: World): HeapSnapshot | HeapError {
  const ids = new Map<object, number>();
  const order: object[] = [], paths: string[] = [];
  walk(w, (x, p) => {
    ids.set(x, order.length);
    order.push(x);
    paths.push(p);
  });
  // The loop only dispatches (small functions for the JIT, as in `layContents`).
  const enc = new Encoder(ids);
  const objects: HeapRecord[] = new Array(order.length);
  for (let i = 0; i < order.length && enc.bad === undefined; i++) {
    objects[i] = enc.record(order[i], paths[i]);
  }
  return enc.bad !== undefined ? new HeapError(enc.bad) : { objects };
}

/** Encodes objects as heap records (see {@link captureHeap}); `bad` says what it cannot hold. */
class Encoder {
  /** The first value a snapshot cannot hold, with its path. */
  bad: string | undefined;

  constructor(private readonly ids: ReadonlyMap<object, number>) {}

  record(x: object, p: string): HeapRecord {
    if (STATIC.has(p)) return { k: "z", p };
    if (typeof x === "function") return { k: "f", p };
    if (x instanceof ArrayBuffer) return { k: "b", p, n: x.byteLength, d: encodeBuffer(x) };
    if (ArrayBuffer.isView(x)) return this.typed(x, p);
    if (x instanceof Map) {
      return { k: "m", p, e: [...x].map(([k, v]) => [this.value(k, p), this.value(v, p)]) };
    }
    if (x instanceof Set) return { k: "s", p, e: [...x].map((v) => this.value(v, p)) };
    if (Array.isArray(x)) return this.array(x, p);
    return this.object(x as Record<string, unknown>, p);
  }

  /** One value (`p`, `key`: where it is; the path is only spelled out for an error). */
  value(v: unknown, p: string, key?: string | number): EncodedValue {
    switch (typeof v) {
      case "number":
        return Number.isFinite(v) && !Object.is(v, -0)
          ? v
          : { $n: String(Object.is(v, -0) ? "-0" : v) };
      case "string":
      case "boolean":
        return v;
      case "undefined":
        return { $u: 1 };
      case "object":
      case "function":
        if (v === null) return null;
        return { $r: this.ids.get(v as object)! };
      default:
        this.bad ??= `${key === undefined ? p : `${p}.${key}`} holds a ${typeof v}, which a ` +
          "snapshot cannot store";
        return null;
    }
  }

  private typed(x: ArrayBufferView, p: string): HeapRecord {
    const c = x.constructor.name;
    if (!(c in TYPED)) this.bad ??= `${p} is a ${c}, which a snapshot cannot store`;
    const n = (x as unknown as { length: number }).length;
    return { k: "t", p, c, b: this.ids.get(x.buffer)!, o: x.byteOffset, n };
  }

  private array(x: unknown[], p: string): HeapRecord {
    let empty = 0;
    for (let j = 0; j < x.length; j++) if (x[j] === null) empty++;
    if (x.length > 64 && empty * 2 > x.length) {
      const e: [number, EncodedValue][] = [];
      for (let j = 0; j < x.length; j++) if (x[j] !== null) e.push([j, this.value(x[j], p)]);
      return { k: "sa", p, n: x.length, e };
    }
    const e: PlainValue[] = new Array(x.length), r: number[] = [];
    const xs: [number, TaggedValue][] = [];
    for (let j = 0; j < x.length; j++) e[j] = split(this.value(x[j], p, j), j, r, xs);
    const rec: HeapRecord = { k: "a", p, e };
    if (r.length) rec.r = r;
    if (xs.length) rec.x = xs;
    return rec;
  }

  private object(x: Record<string, unknown>, p: string): HeapRecord {
    const proto = Object.getPrototypeOf(x);
    let c: string | undefined;
    if (proto === null) c = "null";
    else if (proto !== Object.prototype) {
      c = nameOfProto.get(proto);
      if (c === undefined) {
        this.bad ??= `${p} is an instance of ${
          proto.constructor?.name ?? "an unnamed class"
        }, which is not registered for snapshots`;
      }
    }
    const f: Record<string, PlainValue> = {}, r: (string | number)[] = [];
    const xs: [string, TaggedValue][] = [];
    for (const k of Object.keys(x)) {
      if (!opaque(x, k)) f[k] = split(this.value(x[k], p, k), k, r, xs);
    }
    const rec: HeapRecord = c === undefined ? { k: "o", p, f } : { k: "o", p, c, f };
    if (r.length) rec.r = r;
    if (xs.length) rec.x = xs;
    return rec;
  }
}

// ------------------------------------------------------------------------------ validation

/** Bounds a heap snapshot read from a file must respect (checked before anything is built). */
export interface HeapLimits {
  /** Most records. */
  records: number;
  /** Largest single buffer (bytes). */
  bufferBytes: number;
  /** Most elements of a sparse array. */
  sparseLength: number;
  /** Most bytes all buffers and sparse arrays (8 bytes an element) may describe together. */
  totalBytes: number;
}

const isInt = (x: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): x is number =>
  typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;

const NUMBER_TAGS = new Set(["NaN", "Infinity", "-Infinity", "-0"]);

/**
 * Checks untrusted data against the heap-snapshot schema: every record's kind and fields,
 * every reference in range, class and typed-array names from the registries, buffer segments
 * and typed-array views inside their buffers, and the size limits. Returns the snapshot, or
 * the first problem (with the record index). Iterative and linear in the input.
 */
export function validateHeap(x: unknown, limits: HeapLimits): HeapSnapshot | string {
  if (typeof x !== "object" || x === null || !Array.isArray((x as HeapSnapshot).objects)) {
    return "heap has no records";
  }
  const recs = (x as { objects: unknown[] }).objects;
  if (recs.length === 0 || recs.length > limits.records) {
    return `heap has ${recs.length} records (1 to ${limits.records} allowed)`;
  }
  // The loop only dispatches (small functions for the JIT, as in `layContents`).
  const check = new HeapCheck(recs, limits);
  for (let i = 0; i < recs.length; i++) {
    const why = check.record(recs[i] as Record<string, unknown>);
    if (why !== undefined) return `heap record ${i}: ${why}`;
    if (check.total > limits.totalBytes) {
      return `heap describes more than ${limits.totalBytes} bytes of data`;
    }
  }
  const w = recs[0] as Record<string, unknown>;
  if (w.k !== "o" || w.c !== "World" || w.p !== "w") return "heap record 0 is not the world";
  return x as HeapSnapshot;
}

/** A JSON primitive a record may hold as itself. */
function plain(v: unknown): boolean {
  return v === null || typeof v === "string" || typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v));
}

/** The one key of an object that has exactly one, else undefined (no array of keys made). */
function onlyKey(o: object): string | undefined {
  let key: string | undefined;
  for (const k in o) {
    if (key !== undefined) return undefined;
    key = k;
  }
  return key;
}

/** `{$u: 1}` or `{$n: "NaN" | "Infinity" | "-Infinity" | "-0"}`. */
function tagged(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const key = onlyKey(v), o = v as Record<string, unknown>;
  return key === "$u" ? o.$u === 1 : key === "$n" && NUMBER_TAGS.has(o.$n as string);
}

/**
 * Checks heap records one at a time (see {@link validateHeap}): what is wrong, or undefined.
 * One pass, no closure or array made per record: a checkpoint has thousands of them.
 */
class HeapCheck {
  /** Bytes described so far (buffers, 8 a sparse array element). */
  total = 0;
  private readonly n: number;

  constructor(private readonly recs: readonly unknown[], private readonly limits: HeapLimits) {
    this.n = recs.length;
  }

  record(r: Record<string, unknown>): string | undefined {
    if (typeof r !== "object" || r === null || Array.isArray(r)) return "not an object";
    if (typeof r.p !== "string" || r.p.length > 4096) return "no path";
    if (r.k !== "z" && IN_STATIC.test(r.p)) {
      return "a static part of a world is recorded as present only";
    }
    switch (r.k) {
      case "o":
        return this.object(r);
      case "a":
        return this.array(r);
      case "s":
        return this.values(r.e) ? undefined : "bad elements";
      case "m":
        return this.pairs(r.e, -1) ? undefined : "bad entries";
      case "sa":
        return this.sparse(r);
      case "b":
        return this.buffer(r);
      case "t":
        return this.typed(r);
      case "f":
        return undefined;
      case "z":
        return STATIC.has(r.p) ? undefined : "not a static part of a world";
      default:
        return `unknown kind ${JSON.stringify(r.k)}`;
    }
  }

  /** An encoded value (`m`, `s`, `sa` records): a plain value, a reference or a tag. */
  private value(v: unknown): boolean {
    if (plain(v)) return true;
    if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
    if (onlyKey(v) === "$r") return isInt((v as { $r: unknown }).$r, 0, this.n - 1);
    return tagged(v);
  }

  private values(e: unknown): boolean {
    if (!Array.isArray(e)) return false;
    for (let j = 0; j < e.length; j++) if (!this.value(e[j])) return false;
    return true;
  }

  /** `[key, value]` pairs: keys are encoded values (`len` < 0) or indices below `len`. */
  private pairs(e: unknown, len: number): boolean {
    if (!Array.isArray(e)) return false;
    for (let j = 0; j < e.length; j++) {
      const kv = e[j];
      if (!Array.isArray(kv) || kv.length !== 2 || !this.value(kv[1])) return false;
      if (len < 0 ? !this.value(kv[0]) : !isInt(kv[0], 0, len - 1)) return false;
    }
    return true;
  }

  /**
   * The references (key, id, ...) and tags ([key, tag], ...) of an `o` record (`f`: its
   * fields, which every key must name) or an `a` record (`f` null: keys are indices below
   * `len`).
   */
  private patches(r: Record<string, unknown>, f: object | null, len: number): boolean {
    const refs = r.r, tags = r.x;
    if (refs !== undefined) {
      if (!Array.isArray(refs) || refs.length % 2 !== 0) return false;
      for (let j = 0; j < refs.length; j += 2) {
        if (!isKey(refs[j], f, len) || !isInt(refs[j + 1], 0, this.n - 1)) return false;
      }
    }
    if (tags === undefined) return true;
    if (!Array.isArray(tags)) return false;
    for (let j = 0; j < tags.length; j++) {
      const t = tags[j];
      if (!Array.isArray(t) || t.length !== 2 || !isKey(t[0], f, len) || !tagged(t[1])) {
        return false;
      }
    }
    return true;
  }

  private object(r: Record<string, unknown>): string | undefined {
    if (r.c !== undefined && r.c !== "null" && !Object.hasOwn(SNAPSHOT_CLASSES, r.c as string)) {
      return `unknown class ${JSON.stringify(r.c)}`;
    }
    const f = r.f as Record<string, unknown>;
    if (typeof f !== "object" || f === null || Array.isArray(f)) return "no fields";
    // (`__proto__` would set the object's prototype, not a field)
    if (Object.hasOwn(f, "__proto__")) return "a field is named __proto__";
    for (const k in f) if (!plain(f[k])) return "a field holds a bad value";
    return this.patches(r, f, 0) ? undefined : "bad field references";
  }

  private array(r: Record<string, unknown>): string | undefined {
    const e = r.e;
    if (!Array.isArray(e)) return "bad elements";
    for (let j = 0; j < e.length; j++) if (!plain(e[j])) return "bad elements";
    return this.patches(r, null, e.length) ? undefined : "bad element references";
  }

  private sparse(r: Record<string, unknown>): string | undefined {
    if (!isInt(r.n, 0, this.limits.sparseLength)) {
      return `sparse array length must be 0..${this.limits.sparseLength}`;
    }
    if (!this.pairs(r.e, r.n)) return "bad sparse entries";
    this.total += 8 * r.n;
    return undefined;
  }

  private buffer(r: Record<string, unknown>): string | undefined {
    if (!isInt(r.n, 0, this.limits.bufferBytes)) {
      return `buffer size must be 0..${this.limits.bufferBytes} bytes`;
    }
    const size = r.n, d = r.d;
    if (!Array.isArray(d)) return "bad buffer segments";
    for (let j = 0; j < d.length; j++) if (!segment(d[j], size)) return "bad buffer segment";
    this.total += size;
    return undefined;
  }

  private typed(r: Record<string, unknown>): string | undefined {
    const C = Object.hasOwn(TYPED, r.c as string) ? TYPED[r.c as string] : undefined;
    if (C === undefined) return `unknown typed array ${JSON.stringify(r.c)}`;
    const buf = isInt(r.b, 0, this.n - 1) ? this.recs[r.b] as Record<string, unknown> : undefined;
    if (buf?.k !== "b" || !isInt(buf.n)) return "view of no buffer";
    const width = (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (!isInt(r.o) || !isInt(r.n) || r.o % width !== 0 || r.o + r.n * width > buf.n) {
      return "view outside its buffer";
    }
    return undefined;
  }
}

/** A key of a reference or tag: a field of `f`, or (no `f`) an index below `len`. */
function isKey(k: unknown, f: object | null, len: number): boolean {
  return f !== null ? typeof k === "string" && Object.hasOwn(f, k) : isInt(k, 0, len - 1);
}

/** One buffer segment (see {@link BufferSegment}) inside a buffer of `size` bytes. */
function segment(sg: unknown, size: number): boolean {
  if (!Array.isArray(sg) || !isInt(sg[0], 0, size)) return false;
  return sg.length === 2
    ? typeof sg[1] === "string" && sg[0] + Math.ceil(sg[1].length / 4) * 3 <= size + 2
    : (sg.length === 3 || sg.length === 4) && isInt(sg[1], 0, size - sg[0]) &&
      sg[1] % (4 * (sg.length - 2)) === 0 && isInt(sg[2], 0, 0xffffffff) &&
      (sg.length === 3 || isInt(sg[3], 0, 0xffffffff));
}

// ------------------------------------------------------------------------------ restore

function kindOf(x: object): string {
  if (typeof x === "function") return "f";
  if (x instanceof ArrayBuffer) return "b";
  if (ArrayBuffer.isView(x)) return "t";
  if (x instanceof Map) return "m";
  if (x instanceof Set) return "s";
  if (Array.isArray(x)) return "a";
  return "o";
}

function classOf(x: object): string | undefined {
  const proto = Object.getPrototypeOf(x);
  if (proto === null) return "null";
  if (proto === Object.prototype) return undefined;
  return nameOfProto.get(proto) ?? `?${proto.constructor?.name}`;
}

/**
 * The parts of a world (canonical paths of the objects, and everything under them) a backend
 * can write while its handles are attached and restored: through its context (counters,
 * charges, logs, timers and MSIs on the simulation queue, guest memory in host memory, IOMMU
 * domains) and the gate's accounting.
 */
export const BACKEND_REACH: readonly string[] = [
  "w.ctx",
  "w.sim",
  "w.gate",
  "w.gpu.memory",
  "w.gpu.iommu",
];

/**
 * Replaces the data of `fresh` (a world just built from the snapshot's scenario, seed and
 * overrides, not yet run) with the captured graph, reusing fresh objects by canonical path.
 * A {@link HeapError} when the snapshot is malformed, needs a function the fresh world
 * does not have, or would allocate more than `maxNewBytes` (default {@link heapAllowance})
 * of objects the fresh world does not have (checked before anything is allocated); else the
 * {@link LaidHeap}, which can lay the same data again.
 */
export function restoreHeap(
  fresh: World,
  snap: HeapSnapshot,
  maxNewBytes: number = heapAllowance(snap),
): LaidHeap | HeapError {
  return guarded(() => restoreHeapUnchecked(fresh, snap, maxNewBytes));
}

function guarded<T>(f: () => T | HeapError): T | HeapError {
  try {
    return f();
  } catch (e) {
    return new HeapError(
      `heap snapshot is malformed: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** A heap snapshot laid over a world: its records and the world's object for each. */
export class LaidHeap {
  /** @internal */
  constructor(
    private readonly recs: readonly HeapRecord[],
    private readonly objs: readonly (object | undefined)[],
    private readonly reused: readonly boolean[],
  ) {}

  /**
   * Lays the data of the parts under `roots` (canonical paths: the objects there and
   * everything under them, as in {@link BACKEND_REACH}) again over the same objects, where
   * something may have written since the first time: no walk, nothing created.
   */
  relay(roots: readonly string[]): HeapError | undefined {
    return guarded(() => layContents(this.recs, this.objs, this.reused, null, roots));
  }
}

/**
 * What a heap snapshot may allocate beyond the rebuilt world (see {@link restoreHeap}): a
 * fixed 64 MiB plus four bytes per base64 character it carries, so a small file cannot make
 * gvtsim allocate much (zero runs and repeated words are cheap to write, not to allocate).
 */
export function heapAllowance(snap: HeapSnapshot): number {
  let chars = 0;
  for (const r of snap.objects) {
    if (r.k !== "b") continue;
    for (const sg of r.d) if (sg.length === 2) chars += sg[1].length;
  }
  return 64 * 1024 * 1024 + 4 * chars;
}

function restoreHeapUnchecked(
  fresh: World,
  snap: HeapSnapshot,
  maxNewBytes: number,
): LaidHeap | HeapError {
  const recs = snap.objects;
  if (!Array.isArray(recs) || recs.length === 0 || recs[0].k !== "o" || recs[0].c !== "World") {
    return new HeapError("heap snapshot has no world");
  }
  // 1. identities: reuse the fresh world's objects at the records' places, create the others
  const objs = counterparts(fresh, recs);
  const reused: boolean[] = new Array(recs.length).fill(false);
  const newBytes = reuse(fresh, recs, objs, reused);
  if (newBytes instanceof HeapError) return newBytes;
  if (newBytes > maxNewBytes) {
    return new HeapError(
      `the snapshot would create ${newBytes} bytes of objects the rebuilt world does not have ` +
        `(at most ${maxNewBytes} for a file of this size)`,
    );
  }
  const err = create(recs, objs);
  if (err) return err;
  // 2. contents: new buffers, and fresh ones known to hold only zeros, have no gaps to clear
  const zero = new Set<object>(fresh.zeroBuffers());
  const zeroed = objs.map((x, i) => !reused[i] || zero.has(x!));
  const bad = layContents(recs, objs, reused, zeroed);
  if (bad) return bad;
  if (objs[0] !== fresh) return new HeapError("the rebuilt world does not match the snapshot");
  return new LaidHeap(recs, objs, reused);
}

/**
 * The fresh world's object at each record's place (undefined: none). Records are in walk
 * order, so the walk first reached a record through the first reference to it from a
 * record before it (in that record's child order, {@link reachChildren}'s); following the
 * same reference from that record's fresh counterpart gives the record's. No walk of the
 * fresh world and no path strings: a world built only to be laid over has a small part of
 * the records' objects.
 */
function counterparts(fresh: World, recs: readonly HeapRecord[]): (object | undefined)[] {
  const n = recs.length;
  const at: (object | undefined)[] = new Array(n).fill(undefined);
  const reached = new Uint8Array(n);
  at[0] = fresh;
  reached[0] = 1;
  const reach = (id: number, x: unknown): void => {
    if (reached[id] === 1) return;
    reached[id] = 1;
    if ((typeof x === "object" && x !== null) || typeof x === "function") at[id] = x;
  };
  for (let i = 0; i < n; i++) reachRecord(recs[i], at[i], reach);
  return at;
}

/** Calls `reach(id, x)` for each reference of `r` in child order; `x`: `fresh`'s child there. */
function reachRecord(
  r: HeapRecord,
  fresh: object | undefined,
  reach: (id: number, x: unknown) => void,
): void {
  const c = fresh as Record<string, unknown> | undefined;
  if (r.k === "o") {
    const refs = r.r;
    for (let j = 0; refs && j < refs.length; j += 2) {
      const k = refs[j] as string;
      const own = c !== undefined && Object.hasOwn(c, k) && !opaque(c, k);
      reach(refs[j + 1] as number, own ? c[k] : undefined);
    }
  } else if (r.k === "a") {
    const refs = r.r, arr = Array.isArray(c) ? c : undefined;
    for (let j = 0; refs && j < refs.length; j += 2) reach(refs[j + 1], arr?.[refs[j]]);
  } else if (r.k === "t") reach(r.b, ArrayBuffer.isView(c) ? c.buffer : undefined);
  else if (r.k === "sa") {
    const arr = Array.isArray(c) ? c : undefined;
    for (const [j, v] of r.e) if (isRef(v)) reach(v.$r, arr?.[j]);
  } else if (r.k === "m") reachMap(r, c instanceof Map ? c : undefined, reach);
  else if (r.k === "s") {
    const set = c instanceof Set ? [...c] : undefined;
    for (let j = 0; j < r.e.length; j++) {
      const v = r.e[j];
      if (isRef(v)) reach(v.$r, set?.[j]);
    }
  }
}

/**
 * A map's references (see {@link reachRecord}): an object key is the fresh map's key at the
 * same position, a value under an object key the value there, one under a plain key the
 * fresh map's value for that key.
 */
function reachMap(
  r: Rec<"m">,
  m: Map<unknown, unknown> | undefined,
  reach: (id: number, x: unknown) => void,
): void {
  let ents: [unknown, unknown][] | undefined;
  for (let j = 0; j < r.e.length; j++) {
    const [k, v] = r.e[j];
    if (isRef(k)) {
      ents ??= m ? [...m] : [];
      reach(k.$r, ents[j]?.[0]);
      if (isRef(v)) reach(v.$r, ents[j]?.[1]);
    } else if (isRef(v)) reach(v.$r, m?.get(plainKey(k)));
  }
}

function isRef(v: EncodedValue): v is { $r: number } {
  return typeof v === "object" && v !== null && "$r" in v;
}

/** An encoded map key that is not a reference, as the key. */
function plainKey(k: EncodedValue): unknown {
  if (k === null || typeof k !== "object") return k;
  if ("$n" in k) return k.$n === "-0" ? -0 : Number(k.$n);
  return undefined;
}

/**
 * The fresh objects of the world's static parts ({@link SNAPSHOT_STATIC}): only a `z` record
 * may take one (others are shared by every world of the process).
 */
function staticParts(fresh: World): Set<object> {
  const out = new Set<object>();
  for (const p of SNAPSHOT_STATIC) {
    let x: unknown = fresh;
    for (const k of p.split(".").slice(1)) {
      x = typeof x === "object" && x !== null && Object.hasOwn(x, k)
        ? (x as Record<string, unknown>)[k]
        : undefined;
    }
    if (typeof x === "object" && x !== null) out.add(x);
  }
  return out;
}

/**
 * Decides which records take their fresh counterpart (`objs`, from {@link counterparts}):
 * one of the same kind and class not taken yet (a buffer of the same size, a view of the
 * same type over the same part of its record's reused buffer). The others' slots become
 * undefined. Returns the bytes creating them would allocate (buffers, 8 a sparse array
 * element), or a {@link HeapError}. Allocates nothing.
 */
function reuse(
  fresh: World,
  recs: readonly HeapRecord[],
  objs: (object | undefined)[],
  reused: boolean[],
): number | HeapError {
  const used = new Set<object>(), statics = staticParts(fresh);
  let bytes = 0;
  // buffers before views (a view is reused only over its buffer)
  for (const pass of [0, 1]) {
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i];
      if ((r.k === "t") !== (pass === 1)) continue;
      const old = objs[i];
      objs[i] = undefined;
      if (r.k === "sa") bytes += 8 * r.n;
      if (r.k === "f") {
        if (typeof old === "function") objs[i] = old;
        else if (fresh.restoreOnly) {
          return new HeapError(`${r.p}: the world built for restoring has no such function`, true);
        }
        continue;
      }
      if (r.k === "z") {
        // a static part: the rebuilt world's, as it is
        if (old === undefined) return new HeapError(`${r.p}: the rebuilt world has no such part`);
        objs[i] = old;
        reused[i] = true;
        used.add(old);
        continue;
      }
      let fit = old !== undefined && !used.has(old) && !statics.has(old) &&
        kindOf(old) === r.k && (r.k !== "o" || classOf(old) === r.c);
      if (r.k === "b") fit &&= (old as ArrayBuffer).byteLength === r.n;
      else if (r.k === "t") {
        const C = TYPED[r.c];
        if (C === undefined || recs[r.b]?.k !== "b") {
          return new HeapError(`${r.p}: bad typed array`);
        }
        const v = old as ArrayBufferView;
        fit &&= v.constructor === C && reused[r.b] && v.buffer === objs[r.b] &&
          v.byteOffset === r.o && (v as unknown as { length: number }).length === r.n;
      }
      if (fit) {
        objs[i] = old;
        reused[i] = true;
        used.add(old!);
      } else if (r.k === "b") bytes += r.n;
    }
  }
  return bytes;
}

/** Creates the objects of the records {@link reuse} left without one (buffers before views). */
function create(recs: readonly HeapRecord[], objs: (object | undefined)[]): HeapError | undefined {
  for (const pass of [0, 1]) {
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i];
      if ((r.k === "t") !== (pass === 1) || objs[i] !== undefined) continue;
      if (r.k === "f" || r.k === "z") continue;
      if (r.k === "b") objs[i] = new ArrayBuffer(r.n);
      else if (r.k === "t") objs[i] = new TYPED[r.c](objs[r.b] as ArrayBuffer, r.o, r.n);
      else if (r.k === "a") objs[i] = r.e.slice(); // packed, as the record's elements
      else if (r.k === "sa") objs[i] = [];
      else if (r.k === "m") objs[i] = new Map();
      else if (r.k === "s") objs[i] = new Set();
      else if (r.k === "o") {
        const o = newObject(r);
        if (o === undefined) return new HeapError(`${r.p}: unknown class ${r.c}`);
        objs[i] = o;
      } else return new HeapError(`${(r as { p: string }).p}: unknown record kind`);
    }
  }
  return undefined;
}

/**
 * A new object for an `o` record, holding its plain fields: a copy of the record's fields
 * given the class's prototype. Copied whole, not added a field at a time (V8 turns an object
 * that gets more than a few fields one by one into a slow dictionary, and the run would then
 * read them slowly), so all the objects of a class restored get one fast layout.
 */
function newObject(r: Rec<"o">): object | undefined {
  if (r.c === "null") return Object.assign(Object.create(null), r.f); // (a dictionary anyway)
  const o = { ...r.f };
  if (r.c === undefined) return o;
  const C = SNAPSHOT_CLASSES[r.c];
  return C === undefined ? undefined : Object.setPrototypeOf(o, C.prototype);
}

/**
 * Writes every record's contents into its object (`objs`, from the identity step).
 * `zeroed`: the buffers that hold only zeros (new ones, and fresh ones the world says are
 * zero), whose gaps between segments need no clearing; null: look at every gap. `roots`: lay
 * again, over objects laid once already, only the records under these canonical paths.
 */
function layContents(
  recs: readonly HeapRecord[],
  objs: readonly (object | undefined)[],
  reused: readonly boolean[],
  zeroed: readonly boolean[] | null,
  roots?: readonly string[],
): HeapError | undefined {
  // The loop only dispatches: each kind is laid by a small method, so the JIT compiles small
  // functions (one big one cost far more to optimise than a restore runs it).
  const lay = new Layer(recs, objs);
  const inRoots = roots ? underTest(roots) : null;
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i], x = objs[i];
    if (x === undefined || r.k === "f" || r.k === "t" || r.k === "z") continue;
    if (inRoots !== null && !inRoots.test(r.p)) continue;
    if (r.k === "b") {
      if (!decodeBuffer(x as ArrayBuffer, r.d, zeroed !== null && zeroed[i])) {
        return new HeapError(`${r.p}: bad buffer contents`);
      }
    } else if (r.k === "o") lay.object(r, x as Record<string, unknown>, i, reused[i], !!roots);
    else if (r.k === "a") lay.array(r, x as unknown[], i, reused[i] || !!roots);
    else if (r.k === "sa") lay.sparse(r, x as unknown[], i);
    else if (r.k === "m") lay.map(r, x as Map<unknown, unknown>, i);
    else if (r.k === "s") lay.set(r, x as Set<unknown>, i);
  }
  return undefined;
}

type Rec<K extends HeapRecord["k"]> = Extract<HeapRecord, { k: K }>;

/** Lays records' contents into their objects (see {@link layContents}); throws when malformed. */
class Layer {
  constructor(
    private readonly recs: readonly HeapRecord[],
    private readonly objs: readonly (object | undefined)[],
  ) {}

  /** Where record `at`'s value `key` is (spelled out only for an error). */
  private where(at: number, key?: string | number): string {
    return key === undefined ? this.recs[at].p : `${this.recs[at].p}.${key}`;
  }

  /** The object of record `id`, referred to from record `at`. */
  ref(id: number, at: number, key?: string | number): object {
    const o = this.objs[id];
    if (o !== undefined) return o;
    const r = this.recs[id];
    throw new Error(
      r?.k === "f"
        ? `the function at ${r.p} (used at ${
          this.where(at, key)
        }) has no counterpart in the rebuilt world`
        : `${this.where(at, key)} refers to a missing object`,
    );
  }

  /** An encoded value of record `at`. */
  dec(v: EncodedValue, at: number, key?: string | number): unknown {
    if (v === null || typeof v !== "object") return v;
    if ("$r" in v) return this.ref(v.$r, at, key);
    if ("$u" in v) return undefined;
    if ("$n" in v) return v.$n === "-0" ? -0 : Number(v.$n);
    throw new Error(`${this.where(at, key)}: unknown value tag`);
  }

  /**
   * `again`: laid once already. An object created for its record holds its plain fields
   * already ({@link newObject}) until it is laid again.
   */
  object(
    r: Rec<"o">,
    o: Record<string, unknown>,
    i: number,
    reused: boolean,
    again: boolean,
  ): void {
    if (reused && Object.isFrozen(o)) return;
    const refs = r.r;
    // a reused object keeps the fresh world's function in a slot that holds a function
    let kept: [string, unknown][] | undefined;
    for (let j = 0; reused && refs && j < refs.length; j += 2) {
      const k = refs[j] as string;
      if (this.recs[refs[j + 1] as number].k === "f" && typeof o[k] === "function") {
        (kept ??= []).push([k, o[k]]);
      }
    }
    if (reused || again) Object.assign(o, r.f);
    for (let j = 0; refs && j < refs.length; j += 2) {
      o[refs[j] as string] = this.ref(refs[j + 1] as number, i, refs[j]);
    }
    if (r.x) { for (const [k, t] of r.x) o[k] = this.dec(t, i, k); }
    if (kept) { for (const [k, fn] of kept) o[k] = fn; }
    // fields the fresh object has and the record does not (every record field is there now)
    if (reused && Object.keys(o).length !== Object.keys(r.f).length) {
      for (const k of Object.keys(o)) if (!Object.hasOwn(r.f, k) && !opaque(o, k)) delete o[k];
    }
  }

  /** `copy`: the array is not a copy of the record's elements already (reused, or laid again). */
  array(r: Rec<"a">, a: unknown[], i: number, copy: boolean): void {
    const e = r.e, refs = r.r;
    if (copy) {
      // shortened, then written in order: a packed array stays packed (no holes)
      if (a.length > e.length) a.length = e.length;
      for (let j = 0; j < e.length; j++) a[j] = e[j];
    }
    for (let j = 0; refs && j < refs.length; j += 2) a[refs[j]] = this.ref(refs[j + 1], i, refs[j]);
    if (r.x) { for (const [j, t] of r.x) a[j] = this.dec(t, i, j); }
  }

  sparse(r: Rec<"sa">, a: unknown[], i: number): void {
    a.length = r.n;
    a.fill(null);
    for (const [j, v] of r.e) a[j] = this.dec(v, i, j);
  }

  map(r: Rec<"m">, m: Map<unknown, unknown>, i: number): void {
    m.clear();
    for (const [k, v] of r.e) m.set(this.dec(k, i), this.dec(v, i));
  }

  set(r: Rec<"s">, s: Set<unknown>, i: number): void {
    s.clear();
    for (const v of r.e) s.add(this.dec(v, i));
  }
}
