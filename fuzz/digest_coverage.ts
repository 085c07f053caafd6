/**
 * How much of a heap checkpoint the state digest covers. Takes the checkpoint of the small
 * world of fuzz/checkpoint.ts, changes one numeric field of one heap record at a time (by one;
 * a boolean is flipped), restores it and runs it to 10 ms, and sorts each change as:
 * - refused: the restore refused the file (the digest, or the heap checks);
 * - no effect: it restored and gave the untouched checkpoint's results;
 * - gap: it restored ("digest verified") and gave other results: state the digest misses;
 * - threw: the restore or the run threw (a bug: a file must be refused in one line).
 *
 *   deno run -A fuzz/digest_coverage.ts [--max N]   (N fields, evenly spread; default all)
 *
 * Prints the counts and every gap and throw by path; exits 1 if anything threw.
 * @module
 */

import { baseCheckpoint } from "./checkpoint.ts";
import { encodeSnapshot, SnapshotError, type SnapshotFile } from "../core/snapshot.ts";
import { decodeSnapshot } from "../core/snapshot_decode.ts";
import { restoreWorld } from "../cli/repl_snapshot.ts";
import { collectResults } from "../core/metrics/collect.ts";

type Rec = { p: string; f?: Record<string, unknown> };

/** What restoring `x` and running it to 10 ms gives: results JSON, or a refusal or throw. */
async function outcome(x: SnapshotFile): Promise<{ kind: string; text: string }> {
  try {
    const snap = decodeSnapshot(encodeSnapshot(x));
    if (snap instanceof SnapshotError) return { kind: "refused", text: snap.message };
    const r = await restoreWorld(snap);
    if (r instanceof SnapshotError) return { kind: "refused", text: r.message };
    r.world.run(10e6);
    return { kind: "ran", text: JSON.stringify(collectResults(r.world)) };
  } catch (e) {
    return { kind: "threw", text: e instanceof Error ? e.message : String(e) };
  }
}

const i = Deno.args.indexOf("--max");
const base = await baseCheckpoint() as unknown as SnapshotFile;
const ref = await outcome(base);
if (ref.kind !== "ran") throw new Error(`the untouched checkpoint: ${ref.text}`);
const recs = base.heap!.objects as unknown as Rec[];
const fields: [number, string][] = [];
recs.forEach((r, n) => {
  for (const [k, v] of Object.entries(r.f ?? {})) {
    if (typeof v === "number" || typeof v === "boolean") fields.push([n, k]);
  }
});
const max = i >= 0 ? Number(Deno.args[i + 1]) : fields.length;
const stride = Math.max(1, Math.floor(fields.length / max));
const counts: Record<string, number> = { refused: 0, "no effect": 0, gap: 0, threw: 0 };
const listed: string[] = [];
for (let t = 0; t < fields.length; t += stride) {
  const [n, k] = fields[t];
  const x = structuredClone(base);
  const f = (x.heap!.objects[n] as unknown as Rec).f!;
  f[k] = typeof f[k] === "boolean" ? !f[k] : (f[k] as number) + 1;
  const o = await outcome(x);
  const kind = o.kind === "ran" ? (o.text === ref.text ? "no effect" : "gap") : o.kind;
  counts[kind]++;
  if (kind === "gap") listed.push(`gap    ${recs[n].p}.${k}`);
  if (kind === "threw") listed.push(`threw  ${recs[n].p}.${k}: ${o.text}`);
}
console.log(
  `${fields.length} numeric fields in ${recs.length} heap records, ${
    Math.ceil(fields.length / stride)
  } changed: ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ")}`,
);
for (const l of listed) console.log(l);
Deno.exit(counts.threw > 0 ? 1 : 0);
