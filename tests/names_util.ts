/** The scenario the name tests put words into (tests/names_test.ts, tests/names_reserved_test.ts). */

/** Words every JavaScript object inherits: they must work as names. */
export const INHERITED: readonly string[] = [
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
];

/**
 * `W` in every name position: scenario, parameter (declared, referenced, `-D`), host, backend
 * cost and parameter, fault rule, vGPU type, VM, workload, timeline actions, expectations.
 */
export const TEMPLATE: string = `scenario W
seed 3
param W 2
host W skylake {
  engines rcs bcs
  hypervisor kvm { W 2us; param W 4; fault readGpa delay 1us for 2 calls vm W }
  scheduler gvt
}
host other skylake { engines rcs bcs; hypervisor kvm; scheduler gvt }
type W { aperture 64MiB; hidden 128MiB; fences 2; weight 2 }
vm W { host W; type W; run W; weight $W }
vm plain { host W; type V5_8; run W }
workload W {
  at 60fps { rcs batch { draw 20; store 1 }; wait completion; flip; wait vblank }
}
timeline {
  at 50ms pause W
  at 60ms resume W
  at 70ms weight W 3
  at 80ms fault readGpa error for 1 calls vm W
  at 100ms migrate W to other
  run 200ms
}
expect fps(W) >= 1
expect state(W) is running
expect share(W) >= 0
expect downtime(W) < 1s
`;

export const scenarioOf = (word: string): string => TEMPLATE.replace(/\bW\b/g, word);

/** Lines and columns of every use of `word` (as `$word` too) in {@link scenarioOf}(word). */
export function positions(word: string): { line: number; col: number }[] {
  const out: { line: number; col: number }[] = [];
  const re = new RegExp(`(?<![\\w$])\\$?${word}(?!\\w)`, "g");
  scenarioOf(word).split("\n").forEach((text, i) => {
    for (const m of text.matchAll(re)) out.push({ line: i + 1, col: m.index! + 1 });
  });
  return out;
}
