/**
 * Property test of the whole system: random small scenarios (VMs of random types on a random
 * backend and policy, random workloads, misbehaviour, faults and life-cycle actions on the
 * timeline) never crash the run, never break isolation, and run deterministically.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";

const KINDS = [
  "ggtt_out_of_slice",
  "priv_reg_write",
  "bad_address",
  "ring_garbage",
  "random_mmio",
  "rejected_command",
  "insufficient_resources",
];
const OPS = [
  "dmaMapGuestPage",
  "readGpa",
  "injectMsi",
  "enablePageTrack",
  "guestMmioWrite",
];
const ACTIONS = ["error", "throw", "wrong", "delay 20us"];

const step = fc.oneof(
  fc.record({ e: fc.constantFrom("rcs", "bcs", "vcs", "vecs"), n: fc.integer({ min: 1, max: 60 }) })
    .map(({ e, n }) =>
      `${e} batch { ${e === "bcs" ? "blit" : e === "rcs" ? "draw" : "media"} ${n}; store 1 }`
    ),
  fc.constant("wait completion"),
  fc.constant("flip"),
  fc.integer({ min: 1, max: 3000 }).map((us) => `think ${us}us`),
  fc.integer({ min: 1, max: 16 }).map((n) =>
    `map ${n} pages; pte_rewrite ${n * 2}; unmap ${n} pages`
  ),
);

const event = (vms: number) =>
  fc.record({
    at: fc.integer({ min: 0, max: 290 }),
    vm: fc.integer({ min: 1, max: vms }),
    what: fc.oneof(
      fc.constantFrom("pause", "resume", "reset", "stop", "start"),
      fc.constantFrom(...KINDS).map((k) => `misbehave:${k}`),
      fc.integer({ min: 1, max: 16 }).map((w) => `weight:${w}`),
      fc.record({ op: fc.constantFrom(...OPS), a: fc.constantFrom(...ACTIONS) }).map(({ op, a }) =>
        `fault:${op} ${a}`
      ),
      fc.constantFrom("gvt", "gvirt-rr", "best-effort", "equal-share", "fixed-share").map((p) =>
        `policy:${p}`
      ),
    ),
  }).map(({ at, vm, what }) => {
    const [k, arg] = what.split(":");
    if (k === "misbehave") return `at ${at}ms misbehave vm${vm} ${arg}`;
    if (k === "weight") return `at ${at}ms weight vm${vm} ${arg}`;
    if (k === "fault") return `at ${at}ms fault ${arg} for 3 calls vm vm${vm}`;
    if (k === "policy") return `at ${at}ms policy ${arg}`;
    return `at ${at}ms ${k} vm${vm}`;
  });

const scenario = fc.integer({ min: 1, max: 4 }).chain((vms) =>
  fc.record({
    hv: fc.constantFrom("kvm", "xen", "acrn"),
    oos: fc.boolean(),
    types: fc.array(fc.constantFrom("V5_8", "V5_4"), { minLength: vms, maxLength: vms }),
    body: fc.array(fc.array(step, { minLength: 1, maxLength: 5 }), {
      minLength: vms,
      maxLength: vms,
    }),
    events: fc.array(event(vms), { maxLength: 6 }),
    seed: fc.integer({ min: 1, max: 1000 }),
  }).map(({ hv, oos, types, body, events, seed }) =>
    [
      `scenario fuzz`,
      `seed ${seed}`,
      `host skylake { aperture 1GiB; invariants on; out_of_sync ${
        oos ? "on" : "off"
      }; hypervisor ${hv} }`,
      ...types.map((t, i) => `vm vm${i + 1} { type ${t}; run w${i + 1} }`),
      ...body.map((b, i) => `workload w${i + 1} { loop { ${b.join("; ")}; think 100us } }`),
      `timeline { ${events.join("; ")}${events.length ? "; " : ""}run 300ms }`,
    ].join("\n")
  )
);

async function runText(text: string): Promise<string> {
  const p = parseScenarioText(text, "fuzz.gvt");
  assert.ok(
    p.scenario,
    `${text}\n${p.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join("\n")}`,
  );
  const w = await World.create(p.scenario);
  assert.ok(!(w instanceof WorldError), w instanceof WorldError ? w.message : "");
  (w as World).run();
  const r = collectResults(w as World);
  assert.equal(r.isolation.violations, 0, `isolation broken:\n${text}`);
  return JSON.stringify(r);
}

Deno.test("fuzz: random scenarios run without crashing, keep isolation, and are deterministic", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (text) => {
      const a = await runText(text);
      const b = await runText(text);
      assert.equal(a, b, `not deterministic:\n${text}`);
    }),
    { numRuns: 25, seed: 20261122 },
  );
});
