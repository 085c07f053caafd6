/** Colours of the report: one per VM (declaration order), grey for the idle vGPU. */

/** Ten distinguishable colours, assigned to VMs in declaration order (then cycled). */
export const VM_COLORS: readonly string[] = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#59a14f",
  "#b07aa1",
  "#76b7b2",
  "#edc948",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** Colour of the idle vGPU in the scheduler timeline. */
export const IDLE_COLOR = "#c4c9d1";

/** The colour of VM `name`, given the VM names in declaration order. */
export function vmColor(names: readonly string[], name: string): string {
  if (name === "idle") return IDLE_COLOR;
  const i = names.indexOf(name);
  return VM_COLORS[(i < 0 ? names.length : i) % VM_COLORS.length];
}
