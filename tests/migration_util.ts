/** The two-host scenario the migration tests vary. */

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
