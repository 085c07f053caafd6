/**
 * Checkpoints of a {@link World}.
 *
 * A checkpoint stores the scenario sources, the seed, the overrides and the journal of every
 * action applied interactively, plus a digest of the full world state at the checkpoint.
 *
 * A heap snapshot ({@link SNAPSHOT_VERSION}) also stores the world's whole data graph
 * (core/snapshot_state.ts: simulation queue, PRNG streams, host memory, GPU, mediator, guests,
 * runners, gate, backend context) and the backend's per-vGPU state through its
 * `save(handle)`. Restoring rebuilds the world from the sources (for its function-valued
 * parts), lays the snapshot's data over it once, re-creates the backend's handles with
 * `restore(handle, state)`, lays again what a backend can write, and refuses to continue when
 * the recomputed digest differs: no event before the checkpoint is simulated again.
 *
 * A replay checkpoint ({@link SNAPSHOT_VERSION_REPLAY}) is written when the world cannot be
 * captured as data — a backend without `save`/`restore` (named in the note), or a backend
 * timer closure pending: restoring rebuilds the world, replays the journal to the checkpoint
 * and checks the digest. The simulation is deterministic, so an accepted restore of either
 * kind continues exactly as the uninterrupted run would have.
 * @module
 */

import type { TimelineAction } from "./scenario.ts";
import type { HostRuntime, World } from "./world.ts";
import type { Gpu } from "./hw/gpu.ts";
import type { VgpuPpgtt } from "./gvt/ppgtt.ts";
import type { EventSink, Sim } from "./sim/sim.ts";
import type { MptBackend, VgpuInfo } from "./mpt/types.ts";
import { findType, GVT_MAX_VGPU } from "./vgpu_types.ts";
import {
  BACKEND_REACH,
  captureHeap,
  heapAllowance,
  HeapError,
  type HeapSnapshot,
  restoreHeap,
} from "./snapshot_state.ts";
import { MMIO_SIZE } from "./hw/regs.ts";
import { VGGTT_ENTRY_BYTES } from "./gvt/gtt.ts";
import type { PluginSource } from "./mpt/loader.ts";
import type { LazyInt32Array } from "./hw/lazy_array.ts";
import { PAGE_CHUNK, PAGE_SIZE } from "./hw/memory.ts";
import { type Sha256, sha256, sha256Hex } from "./sha256.ts";
import { BlockKind, forEachBlock, isZero } from "./snapshot_bytes.ts";

/** Format tag of a checkpoint file. */
export const SNAPSHOT_FORMAT = "gvtsim-snapshot";
/**
 * Version of a heap-snapshot checkpoint (the world's data), the one this build prefers.
 * Versions 1 and 2 named plugin paths; versions 3 (replay) and 4 (heap) had a byte-wise
 * digest; versions 5 (replay), 6 and 7 (heap) a digest that mixed every word of every typed
 * array, and 6 the event queue as a binary heap; version 8 (heap) had one violation kind fewer
 * (no `context_page`), so its counters would restore one entry short; version 10 (heap) had no
 * `wa_ctx_range` kind, no workaround-batch fields in workloads and no whitelist-update flag;
 * versions 9 (replay), 10 and 11 (heap) had no `iommu` part in their digest, and 12 (heap) and
 * 13 (replay) one without the IOMMU's size; version 14 (heap) had no record of whether a
 * workload pinned its PPGTT mm or was shadowed at its creation, nor the workaround batches'
 * shadows (a restored running workload would never unpin its mm); versions 15 (replay) and 16
 * (heap) had a digest without the scheduler's, dispatcher's, runners' and guest drivers' own
 * fields (a change there restored unnoticed), and 17 (heap) and 18 (replay) one without the
 * fields of queued and running workloads; versions 19 (heap) and 20 (replay) saved a DMA cache
 * as number rows and had a digest with a SHA-256 per typed array: none of them is read.
 */
export const SNAPSHOT_VERSION = 21;
/** Version of a replay checkpoint (sources, seed, journal), still written and read. */
export const SNAPSHOT_VERSION_REPLAY = 22;

/** A position in a run: simulated time and the number of events dispatched by then. */
export interface SimPosition {
  /** Simulated time (ns). */
  t: number;
  /** Events dispatched when the position was reached. */
  dispatched: number;
}

/** An action applied to a running world from outside its scenario (REPL, API). */
export type JournalAction =
  | { kind: "timeline"; action: TimelineAction }
  | { kind: "mmio"; vm: string; offset: number; size: number; value: number };

/** One journal entry: an action and where in the run it was applied. */
export interface JournalEntry extends SimPosition {
  /** The command as typed (for people reading the file). */
  text: string;
  /** What it did. */
  action: JournalAction;
}

/** State of the hypervisor backend in a checkpoint. */
export interface BackendSnapshot {
  /** Backend name. */
  name: string;
  /**
   * Which code it was: a built-in backend's name, or the SHA-256 of the plugin file (never a
   * path to load: restoring needs the user to name a file with that content).
   */
  plugin: PluginSource;
  /** True when the backend implements `save` and `restore`. */
  serialisable: boolean;
  /** `save(handle)` result per vGPU id (serialisable backends only). */
  states: Record<string, unknown>;
  /** How each attached vGPU was attached (heap snapshots: to re-create its handle). */
  infos?: Record<string, VgpuInfo>;
}

/** The content of a checkpoint file (JSON). */
export interface SnapshotFile {
  /** Always {@link SNAPSHOT_FORMAT}. */
  format: string;
  /** {@link SNAPSHOT_VERSION} (heap) or {@link SNAPSHOT_VERSION_REPLAY} (replay). */
  version: number;
  /**
   * SHA-256 of the file's text (with this field zeroed): binds the digest to every byte, so
   * accidental damage is detected. Anyone can recompute it: it does not prove who wrote it.
   */
  sha256: string;
  /** The scenario: main file path (as loaded) and the text of every file read. */
  scenario: { file: string; sources: Record<string, string> };
  /** Effective seed of the run. */
  seed: number;
  /** Overrides of the run (absent when not given). The backend is in {@link backend}. */
  overrides: { until?: number };
  /** Actions applied from outside the scenario, in order. */
  journal: JournalEntry[];
  /** Where the checkpoint was taken. */
  checkpoint: SimPosition;
  /** Digest of the whole world state at the checkpoint. */
  digest: string;
  /** Digest of each part of the state (to say which part differs). */
  parts: Record<string, string>;
  /** The hypervisor backend. */
  backend: BackendSnapshot;
  /** The world's data graph (heap snapshots only). */
  heap?: HeapSnapshot;
  /** Why a replay checkpoint was written instead of a heap snapshot (replay checkpoints only). */
  replayReason?: string;
}

/** A checkpoint that cannot be used: one clear line, no stack. */
export class SnapshotError {
  /**
   * Creates the error.
   * @param message what is wrong
   * @param rebuild the world was built with `restoreOnly` and lacks a part the snapshot
   *   needs: a world built in full may take it
   */
  constructor(readonly message: string, readonly rebuild = false) {}
}

// ------------------------------------------------------------------------------ hashing

const FNV_OFFSET_A = 0x811c9dc5, FNV_OFFSET_B = 0x050c5d1f;
/** Bytes of one block of a digested typed array. */
export const DIGEST_BLOCK = 4096;
/** Mixed before each block, plus its {@link BlockKind}. */
const BLOCK_TAG = 0xfffffff8;
const PRIME_A = 0x01000193, PRIME_B = 0x9e3779b1;
/**
 * Where {@link Fnv1a64} gathers small pieces of data before hashing them, shared by all: the
 * digest whose bytes are staged ({@link stageOwner}) hashes them before another one stages.
 */
const STAGE = new Uint8Array(64 * 1024);
let stageOwner: Fnv1a64 | null = null;

/**
 * The state digest: two 32-bit lanes of FNV-1a taken a 32-bit word at a time (not a byte:
 * four times fewer steps), with different primes, each step followed by an xorshift so the
 * high bits of a word reach the low bits of the lane. Every step is a bijection of the lane,
 * so changing any one word changes the digest. The data blocks of typed arrays go through one
 * SHA-256 (see {@link view}), mixed in by {@link hex}. Not cryptographic (the file's SHA-256
 * covers the bytes).
 */
export class Fnv1a64 {
  private a = FNV_OFFSET_A;
  private b = FNV_OFFSET_B;
  private readonly f64 = new Float64Array(1);
  private readonly f64w = new Uint32Array(this.f64.buffer);
  /** SHA-256 of the data blocks of every typed array mixed so far, in order. */
  private data: Sha256 | undefined;
  /** Data not yet hashed (`staged` bytes of {@link STAGE}): small pieces go in one update. */
  private staged = 0;

  /** Mixes one 32-bit word. */
  word(w: number): void {
    const a = Math.imul(this.a ^ w, PRIME_A);
    const b = Math.imul(this.b ^ w, PRIME_B);
    this.a = a ^ (a >>> 15);
    this.b = b ^ (b >>> 13);
  }

  /** Mixes a number (its IEEE-754 bits). */
  num(x: number): void {
    this.f64[0] = x;
    this.word(this.f64w[0]);
    this.word(this.f64w[1]);
  }

  /** Mixes a string (length, then its UTF-16 code units two to a word). */
  str(s: string): void {
    this.word(s.length);
    // the lanes in locals: field names make up much of what a digest mixes
    let a = this.a, b = this.b;
    for (let i = 0; i < s.length; i += 2) {
      const w = s.charCodeAt(i) | ((i + 1 < s.length ? s.charCodeAt(i + 1) : 0) << 16);
      a = Math.imul(a ^ w, PRIME_A);
      b = Math.imul(b ^ w, PRIME_B);
      a ^= a >>> 15;
      b ^= b >>> 13;
    }
    this.a = a;
    this.b = b;
  }

  /**
   * Mixes the bytes of a typed array (length first) as runs of blocks of {@link DIGEST_BLOCK}
   * bytes (`forEachBlock`): each run mixes its kind (all zero, a repeat of the block before,
   * or data) and its length, and the bytes of data runs go to the digest's one SHA-256 (in
   * order, so which bytes are data is fixed by the kinds and lengths before them). Kinds and
   * hash are found natively, so the megabytes of zeros and repeated patterns in a world's
   * register files and tables, and its data, cost little to digest even before the JIT has
   * warmed up.
   */
  view(v: ArrayBufferView): void {
    this.word(v.byteLength);
    const u = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    if (v.byteLength % 4 !== 0 || v.byteOffset % 4 !== 0) {
      for (let i = 0; i < u.length; i++) this.word(u[i]);
      return;
    }
    if (u.length <= DIGEST_BLOCK) {
      // one block (counters, samples): zero or data, found without the walk's set-up
      const zero = isZero(u);
      this.word(BLOCK_TAG + (zero ? BlockKind.Zero : BlockKind.Data));
      this.word(u.length);
      if (!zero) this.hashData(u);
      return;
    }
    // consecutive runs of one kind are mixed as one
    let kind = -1, from = 0, to = 0;
    const flush = () => {
      if (kind === -1) return;
      this.word(BLOCK_TAG + kind);
      this.word(to - from);
      if (kind === BlockKind.Data) this.hashData(u.subarray(from, to));
    };
    forEachBlock(u, DIGEST_BLOCK, (at, n, k) => {
      if (k === kind && at === to) {
        to = at + n;
        return;
      }
      flush();
      kind = k;
      from = at;
      to = at + n;
    });
    flush();
  }

  /**
   * Adds bytes to the data SHA-256. Pieces smaller than the stage are copied into it and
   * hashed together: one native update per piece costs more than copying a few KiB. The hash
   * is the same either way (SHA-256 of the bytes in order).
   */
  private hashData(u: Uint8Array): void {
    this.data ??= sha256();
    if (stageOwner !== this) stageOwner?.unstage();
    if (this.staged + u.length > STAGE.length) this.unstage();
    if (u.length >= STAGE.length) this.data.update(u);
    else {
      STAGE.set(u, this.staged);
      this.staged += u.length;
      stageOwner = this;
    }
  }

  /** Hashes the staged bytes. */
  private unstage(): void {
    if (this.staged > 0) this.data!.update(STAGE.subarray(0, this.staged));
    this.staged = 0;
    if (stageOwner === this) stageOwner = null;
  }

  /**
   * Mixes plain data: numbers, strings, booleans, null/undefined, typed arrays, arrays and
   * objects (own enumerable properties in insertion order; functions skipped).
   */
  value(x: unknown, depth = 0): void {
    if (depth > 8) {
      this.str("<deep>");
      return;
    }
    if (x === null || x === undefined) this.word(x === null ? 0xfffffff0 : 0xfffffff1);
    else if (typeof x === "number") this.num(x);
    else if (typeof x === "string") this.str(x);
    else if (typeof x === "boolean") this.word(x ? 0xfffffff3 : 0xfffffff2);
    else if (typeof x === "bigint") this.str(x.toString());
    else if (ArrayBuffer.isView(x)) this.view(x);
    else if (Array.isArray(x)) {
      this.word(x.length);
      for (const e of x) this.value(e, depth + 1);
    } else if (x instanceof Map) {
      this.word(x.size);
      for (const [k, v] of x) {
        this.value(k, depth + 1);
        this.value(v, depth + 1);
      }
    } else if (typeof x === "object") {
      for (const [k, v] of Object.entries(x as Record<string, unknown>)) {
        if (typeof v === "function") continue;
        this.str(k);
        this.value(v, depth + 1);
      }
    }
  }

  /** The digest as 16 hex digits (the data blocks' SHA-256 is mixed in first). */
  hex(): string {
    if (this.data !== undefined) {
      this.unstage();
      this.str(this.data.digest("hex"));
      this.data = undefined;
    }
    return (this.a >>> 0).toString(16).padStart(8, "0") +
      (this.b >>> 0).toString(16).padStart(8, "0");
  }
}

// ------------------------------------------------------------------------------ world state

/** The private page store of {@link HostMemory}, read for the digest. */
interface MemoryView {
  pages: ((Uint32Array | null)[] | null)[];
  owners: LazyInt32Array;
}

/** The gate's private handle table, for calling a backend's save/restore without accounting. */
interface GateView {
  handles: unknown[];
}

function sinkName(s: EventSink): string {
  return (s as { constructor?: { name?: string } }).constructor?.name ?? "sink";
}

/** One pending event of the simulation queue. */
export interface PendingEvent {
  /** When it fires (ns). */
  t: number;
  /** Insertion sequence (orders events at equal times). */
  seq: number;
  /** The kind passed to `schedule`. */
  kind: number;
  /** The argument passed to `schedule`. */
  arg: number;
  /** Class name of the sink that receives it. */
  sink: string;
  /** The sink itself (it can say what the event means: `describeEvent`). */
  target: EventSink;
}

/** The live (not cancelled) pending events, in firing order. Reads the queue, never changes it. */
export function pendingEvents(sim: Sim): PendingEvent[] {
  return sim.pendingEvents().map((e) => ({ ...e, sink: sinkName(e.sink), target: e.sink }));
}

function hashSim(w: World): string {
  const h = new Fnv1a64();
  h.num(w.sim.now);
  h.num(w.sim.dispatched);
  h.num(w.sim.scheduled);
  const live = pendingEvents(w.sim).sort((a, b) => a.seq - b.seq);
  h.word(live.length);
  for (const e of live) {
    h.num(e.t);
    h.num(e.seq);
    h.word(e.kind);
    h.num(e.arg);
    h.str(e.sink);
  }
  scalars(h, (w.sim as unknown as { queue: object }).queue); // its free-slot list, cursor
  return h.hex();
}

function hashRng(w: World): string {
  const h = new Fnv1a64();
  h.num(w.sim.streams.seed);
  h.value(w.sim.streams.save());
  return h.hex();
}

function hashMemory(w: World, gpu: Gpu = w.gpu): string {
  const h = new Fnv1a64();
  const m = gpu.memory as unknown as MemoryView;
  h.num(gpu.memory.allocated);
  // owner tags a chunk of frames at a time (a chunk holding only free frames counts as absent)
  const free = m.owners.fill;
  m.owners.forEachChunk((k, c) => {
    let j = 0;
    while (j < c.length && c[j] === free) j++;
    if (j === c.length) return;
    h.num(k);
    h.view(c);
  });
  for (let k = 0; k < m.pages.length; k++) {
    const chunk = m.pages[k];
    if (chunk !== null) hashPages(h, k * PAGE_CHUNK, chunk);
  }
  return h.hex();
}

/** Mixes the frames of one chunk of host memory that hold data (their numbers from `first`). */
function hashPages(h: Fnv1a64, first: number, chunk: readonly (Uint32Array | null)[]): void {
  for (let j = 0; j < chunk.length; j++) {
    const p = chunk[j];
    if (p === null) continue;
    // a materialised zero page equals an untouched one
    if (isZero(new Uint8Array(p.buffer, p.byteOffset, p.byteLength))) continue;
    h.num(first + j);
    h.view(p);
  }
}

function hashGgtt(w: World, gpu: Gpu = w.gpu): string {
  const h = new Fnv1a64();
  h.view(gpu.ggttLo);
  h.view(gpu.ggttHi);
  return h.hex();
}

/** A workload's trace flow id: set only when the run traces, so a replay may differ there. */
const TRACE_FLOW = "flow";

/**
 * Mixes an object's own scalar fields (numbers, strings, booleans: names and values, in their
 * order), private ones included; references to other objects are skipped (their
 * parts digest them). Bookkeeping that steers a run (scheduler and dispatcher flags, runner and
 * driver state, engine constants) lives in such fields.
 */
function scalars(h: Fnv1a64, o: object | null | undefined): void {
  if (o === null || o === undefined) {
    h.word(0xfffffff0);
    return;
  }
  for (const [k, v] of Object.entries(o)) {
    // null is skipped with references: a tracer field is null or not by the run's trace setting
    if (v === null || v === undefined || typeof v === "object" || typeof v === "function") continue;
    if (k === TRACE_FLOW) continue;
    h.str(k);
    h.value(v);
  }
}

function hashGpu(w: World, gpu: Gpu = w.gpu): string {
  const h = new Fnv1a64();
  h.view(gpu.regs);
  h.value(gpu.counters());
  scalars(h, gpu.execlists);
  scalars(h, gpu.irq);
  for (const s of gpu.streamers) scalars(h, s);
  return h.hex();
}

/** The IOMMU: which domains translate, and every mapping of each (IOVA page -> host frame). */
function hashIommu(w: World, gpu: Gpu = w.gpu): string {
  const h = new Fnv1a64();
  const io = gpu.iommu;
  h.num(io.domains);
  h.num(io.frames);
  h.num(io.scratchMfn);
  h.view(io.translating);
  h.view(io.mapped);
  h.num(io.faults);
  h.num(io.changes);
  for (let d = 1; d < io.domains; d++) {
    for (const [iova, mfn] of io.mappings(d)) {
      h.num(iova);
      h.num(mfn);
    }
  }
  return h.hex();
}

function hashVgpus(w: World, host: HostRuntime = w.hosts[0]): string {
  const h = new Fnv1a64();
  for (const v of host.gvt.vgpus) {
    if (!v) {
      h.word(0);
      continue;
    }
    h.num(v.id);
    h.str(v.vm);
    h.view(v.vreg);
    h.view(v.vcfg);
    h.view(v.ggtt.guest);
    h.view(v.ggtt.dma);
    h.view(v.ggtt.partial);
    h.value(v.counters);
    h.value(v.sched);
    h.value([
      v.failsafe,
      v.failsafeReason,
      v.pvAware,
      v.tlbPending,
      v.vblankGen,
      v.vblankOn,
      v.bar0,
      v.bar2,
    ]);
    h.view(v.runList);
    for (const q of v.queues) {
      h.word(q.length);
      for (const wl of q) {
        scalars(h, wl); // its ring, descriptor, state, times, ...
        h.value(wl.elsp);
      }
    }
    scalars(h, v); // in flight, owner tag, destroyed, ...
    scalars(h, v.ggtt); // its slices
    h.value(v.res);
    for (const el of v.execlists) scalars(h, el);
    hashPpgtt(h, v.ppgtt);
  }
  if (host === w.hosts[0]) {
    for (const vm of w.vms) {
      h.value([vm.state, vm.since, vm.activeNs, vm.lastBusy]);
      scalars(h, vm.mem);
      scalars(h, vm.driver);
      if (vm.driver) {
        h.value(vm.driver.metrics);
        for (const e of (vm.driver as unknown as DriverView).eng) scalars(h, e);
      }
      scalars(h, vm.runner);
    }
  }
  return h.hex();
}

/** The guest driver's private per-engine state, read for the digest. */
interface DriverView {
  eng: (object | null)[];
}

/** A vGPU's PPGTT shadowing bookkeeping: each shadow page's fields by guest frame, each mm's. */
function hashPpgtt(h: Fnv1a64, p: VgpuPpgtt | null): void {
  scalars(h, p);
  if (p === null) return;
  h.word(p.byGfn.size);
  for (const [gfn, page] of p.byGfn) {
    h.num(gfn);
    scalars(h, page);
  }
  h.word(p.mms.length);
  for (const mm of p.mms) scalars(h, mm);
}

function hashMediator(w: World, host: HostRuntime = w.hosts[0]): string {
  const h = new Fnv1a64();
  const gvt = host.gvt, gate = host.gate;
  h.value(gvt.globalCounters);
  h.value(gvt.sched.switchLog);
  h.value(gvt.failsafeLog);
  h.str(gvt.sched.policy.name);
  h.num(gvt.sched.current?.id ?? 0);
  h.num(gate.totalCost);
  h.num(gate.faultCount);
  h.num(gate.errorCount);
  h.value(gate.opCounts);
  h.value(host.ctx.counters);
  scalars(h, host.ctx); // time charged, MSIs delivered
  scalars(h, gvt.sched); // next target, last accounting, running, kick pending
  scalars(h, gvt.sched.policy); // its tick
  scalars(h, gvt.dispatcher);
  for (const wl of gvt.dispatcher.running) scalars(h, wl);
  h.value((gvt.dispatcher as unknown as { d: { costs: unknown } }).d.costs);
  h.value(gvt.scanner.options);
  scalars(h, gvt.invariants);
  if (host === w.hosts[0]) {
    h.num(w.seriesStride);
    h.num(w.samplePeriod);
    h.num(w.applied);
    h.value((w as unknown as { idHistory: unknown }).idHistory);
    for (const id of crashedIds(w)) h.num(id);
  }
  return h.hex();
}

/** One more host of a multi-host world, in one part: its memory, GGTT, GPU, vGPUs, mediator. */
function hashHost(w: World, host: HostRuntime): string {
  const h = new Fnv1a64();
  for (const part of [hashMemory, hashGgtt, hashGpu, hashIommu]) h.str(part(w, host.gpu));
  h.str(hashVgpus(w, host));
  h.str(hashMediator(w, host));
  return h.hex();
}

/**
 * vGPU ids (attached or not) whose domain the backend reports crashed, asked of the backend
 * directly (no gate accounting, a throwing query counts as not crashed).
 */
function crashedIds(w: World): number[] {
  const b = w.gate.backend, out: number[] = [];
  if (typeof b.crashed !== "function") return out;
  const last = Math.max(GVT_MAX_VGPU, w.gvt.vgpus.length - 1); // gScale ids go past 7
  for (let id = 1; id <= last; id++) {
    try {
      if (b.crashed(id) === true) out.push(id);
    } catch {
      // a backend whose query throws reports nothing here
    }
  }
  return out;
}

/** Whether a backend implements both `save` and `restore`. */
export function backendSerialisable(b: MptBackend): boolean {
  return typeof b.save === "function" && typeof b.restore === "function";
}

/**
 * The backend's state per attached vGPU, through its optional `save(handle)`, as JSON text by
 * vGPU id (a failed save as `{"error": message}`). Called on the backend directly (not through
 * the gate), so taking a checkpoint counts no op and charges no time: the run continues
 * exactly as if no checkpoint had been taken.
 */
function backendTexts(w: World): Record<string, string> {
  const b = w.gate.backend, out: Record<string, string> = {};
  if (!backendSerialisable(b)) return out;
  const handles = (w.gate as unknown as GateView).handles;
  for (const v of w.gvt.vgpus) {
    if (!v || !w.gate.isAttached(v.id)) continue;
    try {
      const text: string | undefined = JSON.stringify(b.save!(handles[v.id]) ?? null);
      if (text === undefined) throw new Error("save() returned no JSON data");
      out[String(v.id)] = text;
    } catch (e) {
      out[String(v.id)] = JSON.stringify({ error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

/** The backend's record in a checkpoint: its states (from {@link backendTexts}) and vGPUs. */
export function saveBackend(
  w: World,
  texts: Record<string, string> = backendTexts(w),
): BackendSnapshot {
  const b = w.gate.backend;
  const out: BackendSnapshot = {
    name: b.name,
    plugin: w.pluginSource,
    serialisable: backendSerialisable(b),
    states: {},
  };
  if (!out.serialisable) return out;
  out.infos = {};
  for (const [id, text] of Object.entries(texts)) {
    out.states[id] = JSON.parse(text);
    const info = w.gate.infoOf(Number(id));
    if (info !== null) out.infos[id] = info;
  }
  return out;
}

/** Hands saved backend states back to the backend (`restore(handle, state)`); errors by vGPU. */
export function restoreBackend(w: World, snap: BackendSnapshot): string[] {
  const b = w.gate.backend, errors: string[] = [];
  if (!snap.serialisable || !backendSerialisable(b)) return errors;
  const handles = (w.gate as unknown as GateView).handles;
  for (const [id, state] of Object.entries(snap.states)) {
    const n = Number(id);
    if (!w.gate.isAttached(n)) continue;
    try {
      b.restore!(handles[n], state);
    } catch (e) {
      errors.push(`vGPU ${id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return errors;
}

/**
 * Digests of each part of the world state, and of all of them.
 * @param texts the backend's saved states as JSON text, when the caller has them already
 */
export function worldDigest(
  w: World,
  texts: Record<string, string> = backendTexts(w),
): { digest: string; parts: Record<string, string> } {
  // the backend's states can be large (a mapping per pinned page): their JSON text is
  // digested natively
  const backend = new Fnv1a64();
  backend.str(w.gate.backend.name);
  backend.value(backendSerialisable(w.gate.backend));
  const sha = sha256();
  for (const [id, text] of Object.entries(texts)) sha.update(`${id}\n${text}\n`);
  backend.str(sha.digest("hex"));
  const parts: Record<string, string> = {
    sim: hashSim(w),
    rng: hashRng(w),
    memory: hashMemory(w),
    ggtt: hashGgtt(w),
    gpu: hashGpu(w),
    iommu: hashIommu(w),
    vgpus: hashVgpus(w),
    mediator: hashMediator(w),
    backend: backend.hex(),
  };
  // further hosts (a single-host world's digest is unchanged)
  for (const host of w.hosts.slice(1)) parts[`host ${host.name}`] = hashHost(w, host);
  const all = new Fnv1a64();
  for (const [k, v] of Object.entries(parts)) {
    all.str(k);
    all.str(v);
  }
  return { digest: `fnv1a64:${all.hex()}`, parts };
}

// ------------------------------------------------------------------------------ journal and replay

/** The current position of a world. */
export function positionOf(w: World): SimPosition {
  return { t: w.sim.now, dispatched: w.sim.dispatched };
}

/** Applies one journal action to a world; an error message, or undefined. */
export function applyJournalAction(w: World, a: JournalAction): string | undefined {
  if (a.kind === "timeline") {
    w.apply({ at: w.sim.now, action: a.action, loc: { file: "<journal>", line: 0, col: 0 } });
    return undefined;
  }
  const vm = w.vm(a.vm);
  if (!vm?.vgpu) return `VM ${a.vm} has no vGPU`;
  w.gate.guestMmioWrite(vm.vgpu.id, vm.vgpu.bar0 + a.offset, a.size, a.value);
  return undefined;
}

/**
 * Drives a world forward to `pos` exactly: dispatches events one by one until as many have
 * been dispatched as at `pos`, then lets the clock reach `pos.t` without dispatching more.
 * A {@link SnapshotError} if the world cannot be at that position (the replay diverged).
 */
export function advanceTo(w: World, pos: SimPosition): SnapshotError | undefined {
  const sim = w.sim;
  while (sim.dispatched < pos.dispatched && sim.peekTime() <= pos.t) sim.step();
  if (sim.dispatched !== pos.dispatched || sim.now > pos.t) {
    return new SnapshotError(
      `replay diverged: expected ${pos.dispatched} events by ${pos.t} ns, got ${sim.dispatched} by ${sim.now} ns`,
    );
  }
  if (sim.peekTime() > pos.t) sim.runUntil(pos.t);
  return undefined;
}

/** Replays journal entries (in order) and then advances to `to`. */
export function replay(
  w: World,
  journal: readonly JournalEntry[],
  to: SimPosition,
): SnapshotError | undefined {
  for (const e of journal) {
    const err = advanceTo(w, e);
    if (err) return err;
    const msg = applyJournalAction(w, e.action);
    if (msg) return new SnapshotError(`replaying '${e.text}': ${msg}`);
  }
  return advanceTo(w, to);
}

/** What {@link makeSnapshot} needs beyond the world. */
export interface SnapshotInput {
  /** Main scenario file as loaded. */
  file: string;
  /** Every source file read, by path. */
  sources: ReadonlyMap<string, string> | Record<string, string>;
  /** Overrides of the run. */
  overrides?: { until?: number };
  /** Journal so far. */
  journal?: readonly JournalEntry[];
}

/**
 * Why `w` cannot be captured as a heap snapshot now (a replay checkpoint is written instead),
 * or undefined when it can.
 */
export function heapRefusal(w: World, backend: BackendSnapshot): string | undefined {
  if (w.hosts.length > 1) {
    return `the scenario has ${w.hosts.length} hosts; a heap snapshot holds one host's backend ` +
      "state, so the checkpoint replays the journal";
  }
  if (!backend.serialisable) {
    return `backend ${backend.name} cannot serialise its state (no save/restore)`;
  }
  for (const [id, st] of Object.entries(backend.states)) {
    const e = (st as { error?: unknown } | null)?.error;
    if (typeof e === "string") return `backend ${backend.name} failed to save vGPU ${id}: ${e}`;
  }
  if (Object.keys(backend.states).length === 0 && crashedIds(w).length > 0) {
    return `backend ${backend.name} reports crashed domains but no vGPU is attached to carry ` +
      "that state";
  }
  const timers = w.ctx.pendingTimers();
  if (timers > 0) {
    return `backend ${backend.name} has ${timers} timer(s) set with after() pending; ` +
      "their callbacks are closures, which a snapshot cannot hold";
  }
  return undefined;
}

/** Captures a checkpoint of `w` at its current position (a heap snapshot when it can). */
export function makeSnapshot(w: World, input: SnapshotInput): SnapshotFile {
  const texts = backendTexts(w);
  const backend = saveBackend(w, texts);
  const { digest, parts } = worldDigest(w, texts);
  const sources = input.sources instanceof Map
    ? Object.fromEntries(input.sources)
    : { ...input.sources };
  const overrides: SnapshotFile["overrides"] = {};
  if (input.overrides?.until !== undefined) overrides.until = input.overrides.until;
  let reason = heapRefusal(w, backend);
  let heap: HeapSnapshot | undefined;
  if (reason === undefined) {
    const h = captureHeap(w);
    if (h instanceof HeapError) reason = h.message;
    else heap = h;
  }
  const file: SnapshotFile = {
    format: SNAPSHOT_FORMAT,
    version: heap ? SNAPSHOT_VERSION : SNAPSHOT_VERSION_REPLAY,
    sha256: "",
    scenario: { file: input.file, sources: sources as Record<string, string> },
    seed: w.sim.streams.seed,
    overrides,
    journal: [...(input.journal ?? [])],
    checkpoint: positionOf(w),
    digest,
    parts,
    backend,
  };
  if (heap) file.heap = heap;
  else file.replayReason = reason;
  return file;
}

/** The note printed when a checkpoint had to fall back to replay (names the backend). */
export function backendNote(s: SnapshotFile): string | undefined {
  return s.version === SNAPSHOT_VERSION_REPLAY
    ? `checkpoint restored by replay only: ${s.replayReason ?? `backend ${s.backend.name}`}`
    : undefined;
}

/** Placeholder of the `sha256` field while the file's hash is computed. */
const NO_SHA = "0".repeat(64);

/**
 * Serialises a checkpoint (UTF-8): stable JSON, the header first (format, version, sha256 on lines 2
 * to 4) and readable; the backend's states (large: a mapping per pinned page) compact, one
 * vGPU a line, and the heap compact, one record a line; `sha256` is the SHA-256 of the text
 * with that field's 64 digits zeroed.
 */
export function encodeSnapshotBytes(s: SnapshotFile): Uint8Array {
  const { heap, format, version, sha256: _, backend, ...rest } = s;
  const { states, ...about } = backend;
  const head = JSON.stringify({ format, version, sha256: NO_SHA, ...rest }, null, 1);
  const perVgpu = Object.entries(states).map(([id, st]) =>
    `\n  ${JSON.stringify(id)}: ${JSON.stringify(st)}`
  );
  let text = `${head.slice(0, -2)},\n "backend": ${JSON.stringify(about).slice(0, -1)},"states": {${
    perVgpu.join(",")
  }}}`;
  if (heap !== undefined) {
    text += `,\n "heap": {"objects": [\n${
      heap.objects.map((r) => JSON.stringify(r)).join(",\n")
    }\n]}`;
  }
  text += "\n}\n";
  // hashed and patched as bytes (the header is ASCII, so the field's offset is the same)
  const bytes = new TextEncoder().encode(text);
  const sha = sha256Hex(bytes);
  bytes.set(new TextEncoder().encode(sha), text.indexOf(NO_SHA));
  return bytes;
}

/** {@link encodeSnapshotBytes} as text. */
export function encodeSnapshot(s: SnapshotFile): string {
  return new TextDecoder().decode(encodeSnapshotBytes(s));
}

/** The header's `sha256` line: where it is, and the digest the file claims. */
export const SHA_LINE =
  /^\{\n "format": "[^"\n]*",\n "version": \d+,\n "sha256": "([0-9a-f]{64})",\n/;

/**
 * Re-creates the backend's per-vGPU handles of a heap snapshot in a restored world: the
 * fresh world's handles are detached, each saved vGPU is attached again with its stored
 * description and handed its saved state (`restore(handle, state)`). Called on the backend
 * directly (no gate accounting); errors by vGPU.
 */
function rebuildHandles(w: World, fresh: readonly unknown[], snap: BackendSnapshot): string[] {
  const b = w.gate.backend, errors: string[] = [];
  const handles = (w.gate as unknown as GateView).handles;
  for (let id = 0; id < fresh.length; id++) {
    if (fresh[id] === undefined) continue;
    try {
      b.detachVgpu?.(fresh[id]);
    } catch (e) {
      errors.push(`detaching vGPU ${id}: ${e instanceof Error ? e.message : String(e)}`);
    }
    handles[id] = undefined;
  }
  for (const [id, state] of Object.entries(snap.states)) {
    const info = snap.infos?.[id];
    if (info === undefined) {
      errors.push(`vGPU ${id}: no description`);
      continue;
    }
    try {
      const h = b.attachVgpu ? b.attachVgpu({ ...info }) : { ...info };
      b.restore!(h, state);
      handles[Number(id)] = h;
    } catch (e) {
      errors.push(`vGPU ${id}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return errors;
}

/**
 * What a world built in full would have allocated for the VMs its scenario starts at 0 and a
 * `restoreOnly` world leaves to the snapshot (which may create that much more, see
 * `heapAllowance`): per VM, its vGPU's register file and GGTT tables, and 1 MiB for its
 * driver, guest memory map and metrics.
 */
function unbuiltVmBytes(w: World): number {
  let bytes = 0;
  for (const vm of w.scenario.vms) {
    if (!vm.autostart || vm.start !== 0) continue;
    const t = findType(w.scenario.types, vm.type);
    const pages = t === undefined ? 0 : (t.aperture + t.hidden) / PAGE_SIZE;
    bytes += MMIO_SIZE + VGGTT_ENTRY_BYTES * pages + 1024 * 1024;
  }
  return bytes;
}

/** Restores a heap snapshot into a freshly built world (no replay); digest verified. */
function restoreHeapInto(w: World, s: SnapshotFile): SnapshotError | undefined {
  if (!backendSerialisable(w.gate.backend) || w.gate.backend.name !== s.backend.name) {
    return new SnapshotError(
      `the checkpoint holds the state of backend ${s.backend.name}; backend ${w.gate.backend.name} cannot take it`,
    );
  }
  const fresh = [...(w.gate as unknown as GateView).handles];
  const allowance = heapAllowance(s.heap!) + (w.restoreOnly ? unbuiltVmBytes(w) : 0);
  const laid = restoreHeap(w, s.heap!, allowance);
  if (laid instanceof HeapError) return new SnapshotError(laid.message, laid.incomplete);
  // The saved handles are restored against the restored world (a backend checks its state
  // against the world's memory), and attaching them touches the world's data (the context's
  // counters, charges): the snapshot's data is laid over the same objects once more, only
  // the parts a backend can write.
  const errs = rebuildHandles(w, fresh, s.backend);
  if (errs.length) {
    return new SnapshotError(
      `backend ${s.backend.name} refused its saved state: ${errs.join("; ")}`,
    );
  }
  const again = laid.relay(BACKEND_REACH);
  return again ? new SnapshotError(again.message) : undefined;
}

/**
 * Brings a freshly built world (from the checkpoint's sources, seed and overrides) to the
 * checkpoint — a heap snapshot by laying its data over the world, a replay checkpoint by
 * replaying the journal (also possible for a heap snapshot with `replay`: it holds the
 * journal too) — and verifies the digest. A {@link SnapshotError} when the world does not
 * reach the same state.
 */
export function restoreInto(
  w: World,
  s: SnapshotFile,
  opts: { replay?: boolean } = {},
): SnapshotError | undefined {
  if (w.sim.now !== 0 || w.sim.dispatched !== 0) {
    return new SnapshotError("restore needs a freshly built world");
  }
  if (w.restoreOnly && (s.version !== SNAPSHOT_VERSION || opts.replay)) {
    return new SnapshotError("a world built only to take a heap snapshot cannot replay one", true);
  }
  if (s.version === SNAPSHOT_VERSION && !opts.replay) {
    const err = restoreHeapInto(w, s);
    if (err) return err;
    return checkDigest(w, s, "the restored state gives");
  }
  const err = replay(w, s.journal, s.checkpoint);
  if (err) return err;
  const bad = checkDigest(w, s, "replay gives");
  if (bad) return bad;
  const errs = restoreBackend(w, s.backend);
  if (errs.length) {
    return new SnapshotError(
      `backend ${s.backend.name} refused its saved state: ${errs.join("; ")}`,
    );
  }
  return undefined;
}

function checkDigest(w: World, s: SnapshotFile, what: string): SnapshotError | undefined {
  const { digest, parts } = worldDigest(w);
  if (digest === s.digest) return undefined;
  const differ = Object.keys(parts).filter((k) => parts[k] !== s.parts[k]);
  return new SnapshotError(
    `checkpoint digest mismatch at ${s.checkpoint.t} ns: stored ${s.digest}, ${what} ${digest}` +
      (differ.length ? ` (differs in: ${differ.join(", ")})` : ""),
  );
}
