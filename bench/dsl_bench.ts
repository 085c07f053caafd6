// Parse + check a generated 10,000-line scenario (target: under 200 ms).
import { parseScenarioText } from "../dsl/mod.ts";

/** A scenario of about `lines` lines: 7 VMs, many workloads, a long timeline and expects. */
export function generateScenario(lines: number): string {
  const out: string[] = [
    "# generated",
    "scenario big",
    "host skylake {",
    "  aperture 1GiB",
    "  hypervisor kvm { mmio_exit 2us }",
    "  scheduler gvt { timeslice 1ms; balance 100ms }",
    "}",
    "vm guest[7] { type V5_8; run w0 }",
  ];
  let i = 0;
  while (out.length < lines * 0.7) {
    out.push(
      `workload w${i} {`,
      `  at 60fps {`,
      `    rcs batch { draw uniform(100, ${200 + i}); store 2; lri 2 }`,
      `    wait completion`,
      `    choose { 3: { think exp(2ms) }; 1: { map 8 pages; pte_rewrite 64; unmap 8 pages } }`,
      `    flip`,
      `  }`,
      `}`,
    );
    i++;
  }
  out.push("timeline {");
  let t = 0;
  while (out.length < lines * 0.9) {
    out.push(`  at ${t}ms weight guest${(t % 7) + 1} ${(t % 16) + 1}`);
    t++;
  }
  out.push("  run 100s", "}");
  let k = 0;
  while (out.length < lines) {
    out.push(`expect fps(guest${(k % 7) + 1}) / 2 + latency(guest1, p99) / 1ms >= ${k % 50}`);
    k++;
  }
  return out.join("\n") + "\n";
}

const text = generateScenario(10_000);

Deno.bench("dsl: parse + check a 10,000-line scenario", () => {
  const r = parseScenarioText(text, "big.gvt");
  if (!r.scenario) throw new Error(r.diagnostics[0]?.message ?? "no scenario");
});
