/**
 * Property test of heap snapshots: random small scenarios (backend, policy, workloads,
 * misbehaviour, faults and life-cycle actions) checkpointed at a random time, written, read
 * back and restored without re-simulating, continue to exactly the results of the
 * uninterrupted run.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import { encodeSnapshot, makeSnapshot, SNAPSHOT_VERSION, SnapshotError } from "../core/snapshot.ts";
import { decodeSnapshot } from "../core/snapshot_decode.ts";
import { restoreWorld } from "../cli/repl_snapshot.ts";

const MS = 1e6;
const END = 160 * MS;

const step = fc.oneof(
  fc.record({ e: fc.constantFrom("rcs", "bcs", "vcs"), n: fc.integer({ min: 1, max: 40 }) })
    .map(({ e, n }) =>
      `${e} batch { ${e === "bcs" ? "blit" : e === "rcs" ? "draw" : "media"} ${n}; store 1 }`
    ),
  fc.constant("wait completion"),
  fc.constant("flip"),
  fc.integer({ min: 1, max: 3000 }).map((us) => `think ${us}us`),
  fc.integer({ min: 1, max: 8 }).map((n) => `map ${n} pages; pte_rewrite ${n}; unmap ${n} pages`),
);

const event = (vms: number) =>
  fc.record({
    at: fc.integer({ min: 0, max: 150 }),
    vm: fc.integer({ min: 1, max: vms }),
    what: fc.oneof(
      fc.constantFrom("pause", "resume", "reset", "stop", "start"),
      fc.constantFrom("ggtt_out_of_slice", "bad_address", "priv_reg_write").map((k) =>
        `misbehave:${k}`
      ),
      fc.constantFrom("dmaMapGuestPage error", "injectMsi throw", "guestMmioRead error").map((f) =>
        `fault:${f}`
      ),
      fc.constantFrom("gvt", "best-effort", "fixed-share").map((p) => `policy:${p}`),
    ),
  }).map(({ at, vm, what }) => {
    const [k, arg] = what.split(":");
    if (k === "misbehave") return `at ${at}ms misbehave vm${vm} ${arg}`;
    if (k === "fault") return `at ${at}ms fault ${arg} for 2 calls vm vm${vm}`;
    if (k === "policy") return `at ${at}ms policy ${arg}`;
    return `at ${at}ms ${k} vm${vm}`;
  });

const scenario = fc.integer({ min: 1, max: 3 }).chain((vms) =>
  fc.record({
    hv: fc.constantFrom("kvm", "xen", "acrn"),
    oos: fc.boolean(),
    body: fc.array(fc.array(step, { minLength: 1, maxLength: 4 }), {
      minLength: vms,
      maxLength: vms,
    }),
    events: fc.array(event(vms), { maxLength: 5 }),
    seed: fc.integer({ min: 1, max: 1000 }),
    at: fc.integer({ min: 1, max: 150 }),
  }).map(({ hv, oos, body, events, seed, at }) => ({
    at: at * MS + 1234,
    text: [
      `scenario fuzz`,
      `seed ${seed}`,
      `host skylake { aperture 1GiB; invariants on; out_of_sync ${
        oos ? "on" : "off"
      }; hypervisor ${hv} }`,
      ...body.map((_, i) => `vm vm${i + 1} { type V5_8; run w${i + 1} }`),
      ...body.map((b, i) => `workload w${i + 1} { loop { ${b.join("; ")}; think 100us } }`),
      `timeline { ${events.join("; ")}${events.length ? "; " : ""}run 160ms }`,
    ].join("\n"),
  }))
);

Deno.test("snapshot fuzz: a heap snapshot at a random time continues exactly", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ text, at }) => {
      const p = parseScenarioText(text, "fuzz.gvt");
      assert.ok(p.scenario, text);
      const plain = await World.create(p.scenario) as World;
      assert.ok(!(plain instanceof WorldError));
      plain.run(END);
      const expected = JSON.stringify(collectResults(plain));

      const w = await World.create(p.scenario) as World;
      w.run(at);
      const snap = decodeSnapshot(
        encodeSnapshot(makeSnapshot(w, { file: "fuzz.gvt", sources: { "fuzz.gvt": text } })),
      );
      assert.ok(!(snap instanceof SnapshotError), text);
      assert.equal(snap.version, SNAPSHOT_VERSION, `${text}\n${snap.replayReason}`);
      const r = await restoreWorld(snap);
      assert.ok(!(r instanceof SnapshotError), `${text}\n${(r as SnapshotError).message}`);
      assert.equal(r.replayed, false);
      assert.equal(r.world.sim.dispatched, w.sim.dispatched);
      r.world.run(END);
      assert.equal(JSON.stringify(collectResults(r.world)), expected, `diverged:\n${text}`);
    }),
    { numRuns: 8, seed: 20261123 },
  );
});
