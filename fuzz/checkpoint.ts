/**
 * Fuzzing checkpoint files: a real checkpoint of a small world, mutated as an attacker would
 * (any field replaced by other JSON, records duplicated, sizes inflated, the content digest
 * recomputed) or damaged (bytes changed, digest left alone). The property
 * ({@link checkCheckpointText}): decoding never throws, and a file that decodes restores to a
 * world or a one-line refusal, never an exception or an internal error.
 * @module
 */

import fc from "fast-check";
import { parseScenarioText } from "../dsl/mod.ts";
import { World } from "../core/world.ts";
import {
  encodeSnapshot,
  makeSnapshot,
  SnapshotError,
  type SnapshotFile,
} from "../core/snapshot.ts";
import { decodeSnapshot } from "../core/snapshot_decode.ts";
import { restoreWorld } from "../cli/repl_snapshot.ts";

const SCENARIO = `scenario tiny
seed 3
host skylake { aperture 512MiB; hypervisor kvm }
vm a { type V5_8; run w; memory 256MiB }
workload w { loop { rcs batch { draw 8; store 1 }; wait completion; think 200us } }
timeline { at 1ms pause a; at 2ms resume a; run 10ms }
`;

/** A checkpoint of a small world at 3 ms (built once), as the JSON object it encodes. */
export async function baseCheckpoint(): Promise<Record<string, unknown>> {
  const r = parseScenarioText(SCENARIO, "tiny.gvt");
  const w = await World.create(r.scenario!) as World;
  w.run(3e6);
  const snap = makeSnapshot(w, { file: "tiny.gvt", sources: r.sources });
  return JSON.parse(encodeSnapshot(snap));
}

/** JSON values an attacker might put anywhere. */
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, 2 ** 31, 2 ** 53, -0, "", "w", "World", "$r"),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.constantFrom({ $r: 0 }, { $r: 1e9 }, { $u: 1 }, { $n: "NaN" }, [], {}, [0, "AAAA"], [
    0,
    1e12,
    5,
  ]),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 4 }),
);

/** One edit: where (a path of indices into the object, taken modulo), and what. */
const edit = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  kind: fc.constantFrom("set", "delete", "duplicate", "inflate"),
  value: jsonValue,
});

/** A mutated checkpoint text: JSON edits re-encoded with a valid digest, or raw damage. */
export function mutatedCheckpoint(base: Record<string, unknown>): fc.Arbitrary<string> {
  const reencoded = fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    const x = structuredClone(base);
    for (const e of edits) apply(x, e);
    try {
      return encodeSnapshot(x as unknown as SnapshotFile);
    } catch {
      return JSON.stringify(x);
    }
  });
  const text = JSON.stringify(base, null, 1);
  const damaged = fc.array(
    fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), ins: fc.string({ maxLength: 3 }) }),
    { minLength: 1, maxLength: 3 },
  ).map((ds) => {
    let t = encodeSnapshot(base as unknown as SnapshotFile);
    for (const d of ds) {
      const i = Math.floor(d.at * t.length);
      t = t.slice(0, i) + d.ins + t.slice(i + 1);
    }
    return t;
  });
  return fc.oneof(
    { arbitrary: reencoded, weight: 8 },
    { arbitrary: damaged, weight: 1 },
    { arbitrary: fc.constant(text), weight: 1 },
  );
}

function apply(
  root: Record<string, unknown>,
  e: { path: number[]; kind: string; value: unknown },
): void {
  let parent: Record<string, unknown> | unknown[] = root;
  let key: string | number = "";
  let node: unknown = root;
  for (const p of e.path) {
    if (typeof node !== "object" || node === null) break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown>;
    key = Array.isArray(node) ? p % node.length : keys[p % keys.length];
    node = (node as Record<string, unknown>)[key];
  }
  if (key === "") return;
  const obj = parent as Record<string | number, unknown>;
  if (e.kind === "set") obj[key] = e.value;
  else if (e.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete obj[key];
  } else if (e.kind === "duplicate" && Array.isArray(parent)) parent.push(structuredClone(node));
  else if (e.kind === "inflate") obj[key] = typeof node === "number" ? node * 1e6 + 1 : e.value;
}

/** What restoring one text found wrong (empty when it is fine). */
export async function checkCheckpointText(text: string): Promise<string[]> {
  let snap;
  try {
    snap = decodeSnapshot(text);
  } catch (e) {
    return [`decode threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`];
  }
  if (snap instanceof SnapshotError) return oneLine("decode", snap.message);
  let r;
  try {
    r = await restoreWorld(snap);
  } catch (e) {
    return [`restore threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`];
  }
  if (r instanceof SnapshotError) return oneLine("restore", r.message);
  return [];
}

function oneLine(what: string, message: string): string[] {
  const out: string[] = [];
  if (message.includes("\n")) out.push(`${what} error is not one line: ${message}`);
  if (
    /internal error|Cannot read propert|is not a function|is not iterable|Invalid array length|stack size/i
      .test(message)
  ) {
    out.push(`${what} error looks internal: ${message}`);
  }
  return out;
}
