/** The two-host scenario the migration tests vary, and running it through the CLI. */

import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";
import type { MigrationResult, Results } from "../core/metrics/results.ts";

/** Two Skylake hosts; x moves from a to b at 1 s, where the victim renders. */
export function scenario(
  opts: { migrate?: string; extraVm?: string; expects?: string } = {},
): string {
  return `scenario mig
param hashing on
host a skylake { hypervisor kvm }
host b skylake { hypervisor kvm }
vm web { host a; type V5_4; run game }
vm x { host a; type V5_4; run game }
vm victim { host b; type V5_4; run game }
${opts.extraVm ?? ""}
workload game {
  map 3000 pages
  at 60fps {
    rcs batch { draw 100; store 4 }
    bcs batch { blit 8; fill 1 }
    wait completion
    flip
    wait vblank
  }
}
timeline {
  at 1s ${opts.migrate ?? "migrate x to b hashing $hashing"}
  run 2500ms
}
${
    opts.expects ??
      `expect downtime(x) < 1s
expect fps(x, 1500ms..) >= 55
expect fps(victim) >= 55
expect violations() == 0`
  }
`;
}

/** Runs a scenario text with `gvtsim run --json` (and `args`), in a temp dir. */
export async function run(
  text: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string; r?: Results; dir: string }> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/mig.gvt`, json = `${dir}/out.json`;
  await Deno.writeTextFile(file, text);
  const abs = args.map((a) => (/\.(json|html)$/.test(a) ? `${dir}/${a}` : a));
  const p = await gvtsim("run", file, "--json", json, ...abs);
  let r: Results | undefined;
  try {
    r = JSON.parse(await Deno.readTextFile(json));
  } catch { /* no results (invalid input) */ }
  return { ...p, r, dir };
}

/** The run's one migration. */
export function only(r: Results | undefined): MigrationResult {
  assert.ok(r?.migrations, "results have a migrations table");
  assert.equal(r.migrations.length, 1);
  return r.migrations[0];
}
