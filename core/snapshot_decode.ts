/**
 * Reading a checkpoint file someone else may have written: the text is checked against the
 * checkpoint schema, with size limits, before anything is built from it. In order: the header
 * (format, version) and the content digest (SHA-256 of the text), then the JSON, then every
 * field's type and range, then the heap's records (core/snapshot_state.ts `validateHeap`).
 * A checkpoint never names code: the backend is a built-in name or a plugin file's hash.
 *
 * What passes here is well-formed data of bounded size; it can still describe a world state
 * that was never simulated (the digests can be recomputed by anyone). Restoring then checks
 * the scenario sources with the DSL and re-derives journal actions from their text
 * (cli/repl_snapshot.ts) before any plugin is imported or any world built.
 * @module
 */

import { GSCALE_MAX_VGPU } from "./vgpu_types.ts";
import type { PluginSource } from "./mpt/loader.ts";
import { type HeapLimits, validateHeap } from "./snapshot_state.ts";
import {
  type BackendSnapshot,
  type JournalEntry,
  SHA_LINE,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  SNAPSHOT_VERSION_REPLAY,
  SnapshotError,
  type SnapshotFile,
} from "./snapshot.ts";
import type { VgpuInfo } from "./mpt/types.ts";
import { sha256 } from "./sha256.ts";

/** The 64 digits of the `sha256` field as they are hashed (zeroed). */
const ZEROED = new TextEncoder().encode("0".repeat(64));

const MiB = 1024 * 1024;

/** The limits a checkpoint file must respect. */
export const CHECKPOINT_LIMITS = {
  /** Largest file read (bytes; checked before reading). */
  fileBytes: 256 * MiB,
  /** Most scenario source files. */
  sources: 64,
  /** Most bytes of all scenario sources together. */
  sourceBytes: 8 * MiB,
  /** Most journal entries. */
  journal: 100_000,
  /** Longest path or name string. */
  name: 4096,
  /** Deepest nesting of a backend's saved state. */
  stateDepth: 32,
  /** Heap records and sizes. */
  heap: {
    records: 4_000_000,
    bufferBytes: 256 * MiB,
    sparseLength: 1 << 26,
    totalBytes: 4096 * MiB,
  } satisfies HeapLimits,
} as const;

const TOP_KEYS = new Set([
  "format",
  "version",
  "sha256",
  "scenario",
  "seed",
  "overrides",
  "journal",
  "checkpoint",
  "digest",
  "parts",
  "backend",
  "heap",
  "replayReason",
]);

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const isInt = (x: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): x is number =>
  typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;
const isName = (x: unknown): x is string =>
  typeof x === "string" && x.length > 0 && x.length <= CHECKPOINT_LIMITS.name;

/**
 * Whether plain JSON data nests more than `limit` levels deep (a non-empty array or object is
 * one level above its children). Recursive, but never deeper than `limit` calls.
 */
function nestsDeeper(x: object, limit: number): boolean {
  if (Array.isArray(x)) {
    // indexed loops: a backend's state can hold tens of thousands of small arrays
    if (x.length > 0 && limit === 0) return true;
    for (let i = 0; i < x.length; i++) {
      const c = x[i];
      if (typeof c === "object" && c !== null && nestsDeeper(c, limit - 1)) return true;
    }
    return false;
  }
  for (const k in x) {
    if (limit === 0) return true;
    const c = (x as Record<string, unknown>)[k];
    if (typeof c === "object" && c !== null && nestsDeeper(c, limit - 1)) return true;
  }
  return false;
}

/** A problem, located by field. */
class Bad {
  constructor(readonly message: string) {}
}

/**
 * Checks the header and the content digest. `bytes`: the file as read (the text is its UTF-8
 * decoding), hashed as it is rather than encoded again.
 */
function header(text: string, bytes?: Uint8Array): { version: number } | Bad {
  const m = /^\{\n "format": "([^"\n]{0,64})",\n "version": (\d{1,6}),\n/.exec(text);
  if (!m || m[1] !== SNAPSHOT_FORMAT) {
    return new Bad(`not a checkpoint file (it must start with the '${SNAPSHOT_FORMAT}' header)`);
  }
  const version = Number(m[2]);
  if (version !== SNAPSHOT_VERSION && version !== SNAPSHOT_VERSION_REPLAY) {
    return new Bad(
      `checkpoint format version ${version} is not supported (this build reads versions ` +
        `${SNAPSHOT_VERSION} (heap snapshot) and ${SNAPSHOT_VERSION_REPLAY} (replay); older ` +
        "checkpoints had another digest, event queue, counter layout or named plugin paths: write them again)",
    );
  }
  const sha = SHA_LINE.exec(text);
  if (!sha) return new Bad("checkpoint has no content digest (sha256) in its header");
  // the 64 digits, before `",\n`; the header up to them is ASCII, so text and byte offsets agree
  const end = sha[0].length - 3, start = end - 64;
  const zeroed = sha256();
  if (bytes) zeroed.update(bytes.subarray(0, start)).update(ZEROED).update(bytes.subarray(end));
  else zeroed.update(text.slice(0, start)).update(ZEROED).update(text.slice(end));
  if (zeroed.digest("hex") !== sha[1]) {
    return new Bad(
      "checkpoint content digest mismatch: the file was changed or damaged after it was written",
    );
  }
  return { version };
}

function scenarioOf(x: unknown): SnapshotFile["scenario"] | Bad {
  if (!isObj(x) || !isName(x.file) || !isObj(x.sources)) {
    return new Bad("checkpoint has no scenario sources");
  }
  const entries = Object.entries(x.sources);
  if (entries.length > CHECKPOINT_LIMITS.sources) {
    return new Bad(`checkpoint holds more than ${CHECKPOINT_LIMITS.sources} scenario files`);
  }
  let total = 0;
  for (const [name, text] of entries) {
    if (!isName(name) || typeof text !== "string") {
      return new Bad("checkpoint scenario sources are not text");
    }
    total += text.length;
  }
  if (total > CHECKPOINT_LIMITS.sourceBytes) {
    return new Bad(`checkpoint scenario sources exceed ${CHECKPOINT_LIMITS.sourceBytes} bytes`);
  }
  if (typeof x.sources[x.file] !== "string") {
    return new Bad("checkpoint has no scenario sources");
  }
  return { file: x.file, sources: x.sources as Record<string, string> };
}

function position(x: unknown): { t: number; dispatched: number } | undefined {
  return isObj(x) && isInt(x.t) && isInt(x.dispatched)
    ? { t: x.t, dispatched: x.dispatched }
    : undefined;
}

function journalOf(
  x: unknown,
  cp: { t: number; dispatched: number },
): JournalEntry[] | Bad {
  if (!Array.isArray(x)) return new Bad("checkpoint has no journal");
  if (x.length > CHECKPOINT_LIMITS.journal) {
    return new Bad(`checkpoint journal has more than ${CHECKPOINT_LIMITS.journal} entries`);
  }
  const out: JournalEntry[] = [];
  let last = { t: 0, dispatched: 0 };
  for (const [i, e] of x.entries()) {
    const at = position(e);
    const a = isObj(e) ? e.action : undefined;
    const text = isObj(e) ? e.text : undefined;
    const mmio = isObj(a) && a.kind === "mmio" && isName(a.vm) &&
      isInt(a.offset, 0, 0xffffff) && a.size === 4 && isInt(a.value, 0, 0xffffffff);
    const timeline = isObj(a) && a.kind === "timeline" && isObj(a.action);
    if (!at || typeof text !== "string" || text.length > 1000 || !(mmio || timeline)) {
      return new Bad(`checkpoint journal entry ${i + 1} is malformed`);
    }
    if (at.t > cp.t || at.dispatched > cp.dispatched) {
      return new Bad(`checkpoint journal entry ${i + 1} lies after the checkpoint`);
    }
    if (at.t < last.t || at.dispatched < last.dispatched) {
      return new Bad(`checkpoint journal entry ${i + 1} lies before the one above it`);
    }
    last = at;
    out.push({ ...at, text, action: a as JournalEntry["action"] });
  }
  return out;
}

function pluginOf(x: unknown): PluginSource | undefined {
  if (!isObj(x)) return undefined;
  const keys = Object.keys(x).sort().join(",");
  if (
    keys === "builtin" && typeof x.builtin === "string" && /^[a-z][a-z0-9_-]{0,63}$/.test(x.builtin)
  ) {
    return { builtin: x.builtin };
  }
  if (
    keys === "file,sha256" && typeof x.sha256 === "string" && /^[0-9a-f]{64}$/.test(x.sha256) &&
    isName(x.file)
  ) {
    return { sha256: x.sha256, file: x.file };
  }
  return undefined;
}

const VGPU_ID = new RegExp(`^([1-9]|1[0-9])$`);

function infoOf(id: string, x: unknown): VgpuInfo | undefined {
  if (!isObj(x)) return undefined;
  const ok = x.id === Number(id) && isName(x.vm) && isInt(x.memory) && isInt(x.vcpus, 1, 1024) &&
    isInt(x.bar0) && isInt(x.bar2) && (x.cfg === undefined || isInt(x.cfg));
  return ok ? x as unknown as VgpuInfo : undefined;
}

function backendOf(x: unknown, heap: boolean): BackendSnapshot | Bad {
  if (!isObj(x) || !isName(x.name) || typeof x.serialisable !== "boolean" || !isObj(x.states)) {
    return new Bad("checkpoint has no backend record");
  }
  const plugin = pluginOf(x.plugin);
  if (!plugin) {
    return new Bad("checkpoint backend record names no built-in backend or plugin hash");
  }
  for (const [id, st] of Object.entries(x.states)) {
    if (!VGPU_ID.test(id) || Number(id) > GSCALE_MAX_VGPU) {
      return new Bad(`checkpoint backend state for a bad vGPU id '${id.slice(0, 16)}'`);
    }
    if (typeof st === "object" && st !== null && nestsDeeper(st, CHECKPOINT_LIMITS.stateDepth)) {
      return new Bad(`checkpoint backend state of vGPU ${id} nests too deeply`);
    }
  }
  const out: BackendSnapshot = {
    name: x.name,
    plugin,
    serialisable: x.serialisable,
    states: x.states,
  };
  if (x.infos !== undefined || heap) {
    if (!isObj(x.infos)) return new Bad("heap checkpoint has no vGPU descriptions");
    const infos: Record<string, VgpuInfo> = {};
    for (const [id, v] of Object.entries(x.infos)) {
      const info = VGPU_ID.test(id) ? infoOf(id, v) : undefined;
      if (!info) return new Bad(`checkpoint vGPU description '${id.slice(0, 16)}' is malformed`);
      infos[id] = info;
    }
    out.infos = infos;
  }
  return out;
}

/**
 * Parses and validates a checkpoint file: its text, or its bytes as read (UTF-8). Never throws;
 * a {@link SnapshotError} names the first problem (see the module comment).
 */
export function decodeSnapshot(file: string | Uint8Array): SnapshotFile | SnapshotError {
  const r = decode(file);
  return r instanceof Bad ? new SnapshotError(r.message) : r;
}

function decode(file: string | Uint8Array): SnapshotFile | Bad {
  if (file.length > CHECKPOINT_LIMITS.fileBytes) {
    return new Bad(`checkpoint is larger than ${CHECKPOINT_LIMITS.fileBytes} bytes`);
  }
  const bytes = typeof file === "string" ? undefined : file;
  // (a byte-order mark is kept, so such a file is not taken for a checkpoint)
  const text = bytes ? new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes) : file as string;
  const h = header(text, bytes);
  if (h instanceof Bad) return h;
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    return new Bad(`not a checkpoint file: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObj(x)) return new Bad("not a checkpoint file");
  const extra = Object.keys(x).find((k) => !TOP_KEYS.has(k));
  if (extra !== undefined) {
    return new Bad(`checkpoint has an unknown field '${extra.slice(0, 32)}'`);
  }
  const scenario = scenarioOf(x.scenario);
  if (scenario instanceof Bad) return scenario;
  if (!isInt(x.seed)) return new Bad("checkpoint has no seed");
  const cp = position(x.checkpoint);
  if (!cp) return new Bad("checkpoint has no position");
  if (typeof x.digest !== "string" || !/^fnv1a64:[0-9a-f]{16}$/.test(x.digest) || !isObj(x.parts)) {
    return new Bad("checkpoint has no digest");
  }
  const parts = Object.entries(x.parts);
  if (parts.length > 16 || parts.some(([, v]) => typeof v !== "string" || v.length > 64)) {
    return new Bad("checkpoint digest parts are malformed");
  }
  const journal = journalOf(x.journal, cp);
  if (journal instanceof Bad) return journal;
  const ov = x.overrides ?? {};
  if (
    !isObj(ov) || Object.keys(ov).some((k) => k !== "until") ||
    (ov.until !== undefined && !isInt(ov.until, 1))
  ) {
    return new Bad("checkpoint overrides are malformed");
  }
  const heap = h.version === SNAPSHOT_VERSION;
  const backend = backendOf(x.backend, heap);
  if (backend instanceof Bad) return backend;
  const out: SnapshotFile = {
    format: SNAPSHOT_FORMAT,
    version: h.version,
    sha256: (x.sha256 as string) ?? "",
    scenario,
    seed: x.seed,
    overrides: ov.until !== undefined ? { until: ov.until as number } : {},
    journal,
    checkpoint: cp,
    digest: x.digest,
    parts: x.parts as Record<string, string>,
    backend,
  };
  if (heap) {
    const hs = validateHeap(x.heap, CHECKPOINT_LIMITS.heap);
    if (typeof hs === "string") return new Bad(`heap checkpoint: ${hs}`);
    out.heap = hs;
  } else if (x.heap !== undefined) return new Bad("a replay checkpoint holds no heap");
  else if (typeof x.replayReason === "string") out.replayReason = x.replayReason.slice(0, 4096);
  return out;
}
