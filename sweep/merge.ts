/**
 * `gvtsim sweep merge DIR... --out DIR`: the shard directories of one sweep (`--shard I/N`)
 * become one directory identical to what the sweep run in one process would have written
 * (same rows, same values). And `gvtsim report DIR`, which redraws report.html.
 */

import { DB_FILE, describeSpec, specJson, SweepDb } from "./db.ts";
import { plannedRuns } from "./grid.ts";
import { writeSweepOutputs } from "./sweep.ts";
import { summarizePoints } from "./summary.ts";
import { sweepReportHtml } from "./report.ts";
import { writeAtomic } from "../cli/output.ts";

function realPath(p: string): string {
  try {
    return Deno.realPathSync(p);
  } catch {
    return p;
  }
}

/** Merges sweep directories into `outDir`; the number of runs, or why not (nothing written). */
export async function mergeSweeps(
  dirs: readonly string[],
  outDir: string,
): Promise<{ runs: number } | string> {
  if (dirs.length === 0) return "no directories to merge";
  const outReal = realPath(outDir);
  const inputs: { dir: string; db: SweepDb }[] = [];
  const closeAll = () => inputs.forEach((i) => i.db.close());
  for (const dir of dirs) {
    if (realPath(dir) === outReal) {
      closeAll();
      return `--out ${outDir} is also an input; merge into another directory`;
    }
    const db = SweepDb.openExisting(`${dir}/${DB_FILE}`);
    if (typeof db === "string") {
      closeAll();
      return db;
    }
    inputs.push({ dir, db });
  }
  const first = inputs[0].db.stored;
  for (const { dir, db } of inputs.slice(1)) {
    if (
      specJson(db.stored.spec) !== specJson(first.spec) ||
      JSON.stringify(db.stored.params) !== JSON.stringify(first.params)
    ) {
      closeAll();
      return `${dir} holds another sweep (${describeSpec(db.stored.spec)}) than ${inputs[0].dir} (${
        describeSpec(first.spec)
      })`;
    }
  }
  closeAll();

  try {
    await Deno.mkdir(outDir, { recursive: true });
  } catch (e) {
    return `--out ${outDir}: ${e instanceof Error ? e.message : String(e)}`;
  }
  const target = `${outDir}/${DB_FILE}`;
  const tmp = `${outDir}/.${DB_FILE}.${Deno.pid}.tmp`;
  await Deno.remove(tmp).catch(() => {});
  const merged = SweepDb.open(tmp, first.spec, first.params);
  if (typeof merged === "string") return merged;
  let runs = 0;
  try {
    let existing = false;
    try {
      existing = Deno.statSync(target).isFile;
    } catch {
      // a new output directory
    }
    if (existing) {
      // what --out already holds stays (the same sweep only)
      const old = SweepDb.openExisting(target);
      if (typeof old === "string") return old;
      const same = specJson(old.stored.spec) === specJson(first.spec) &&
        JSON.stringify(old.stored.params) === JSON.stringify(first.params);
      old.close();
      if (!same) return `${target} holds another sweep; merge into another directory`;
      merged.absorb(target);
    }
    for (const { dir } of inputs) merged.absorb(`${dir}/${DB_FILE}`);
    const rows = merged.runs();
    const hashes = new Map<number, Set<string>>();
    for (const r of rows) {
      const p = Number(r.point);
      if (!hashes.has(p)) hashes.set(p, new Set());
      hashes.get(p)!.add(String(r.scenario_hash));
    }
    const mixed = [...hashes].filter(([, h]) => h.size > 1).map(([p]) => p);
    if (mixed.length) {
      return `the directories ran different versions of the scenario at grid point(s) ${
        mixed.join(", ")
      } (their scenario hashes differ); rerun those shards with one version`;
    }
    const have = new Set(rows.map((r) => Number(r.run)));
    const missing = plannedRuns(first.spec).filter((r) => !have.has(r.run)).map((r) => r.run);
    if (missing.length) {
      return `${missing.length} of ${have.size + missing.length} runs are in none of the ` +
        `directories (runs ${missing.slice(0, 20).join(", ")}${
          missing.length > 20 ? ", ..." : ""
        })` +
        `: a shard is missing or unfinished`;
    }
    runs = rows.length;
  } catch (e) {
    return `merging into ${outDir}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    merged.close();
    if (runs === 0) await Deno.remove(tmp).catch(() => {});
  }
  await Deno.rename(tmp, target);
  const db = SweepDb.openExisting(target);
  if (typeof db === "string") return db;
  try {
    await writeSweepOutputs(outDir, db);
  } finally {
    db.close();
  }
  return { runs };
}

/** Redraws DIR/report.html from DIR/results.db; why not, as one line. */
export function regenerateReport(dir: string): Promise<string | undefined> {
  return Promise.resolve(regenerate(dir));
}

function regenerate(dir: string): string | undefined {
  const db = SweepDb.openExisting(`${dir}/${DB_FILE}`);
  if (typeof db === "string") return db;
  try {
    writeAtomic(`${dir}/report.html`, sweepReportHtml(db, summarizePoints(db)));
    return undefined;
  } catch (e) {
    return `${dir}/report.html: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    db.close();
  }
}
