/** Policy factory: a {@link SchedulerSpec} to a {@link SchedPolicy}. */

import type { SchedulerSpec } from "../../scenario.ts";
import type { SchedPolicy } from "./policy.ts";
import { SlicePolicy } from "./slices.ts";
import { TbsPolicy } from "./tbs.ts";

export { IDLE, KEEP, type SchedPolicy } from "./policy.ts";
export { SlicePolicy } from "./slices.ts";
export { TbsPolicy } from "./tbs.ts";

/** Creates the policy a scheduler spec names. */
export function createPolicy(spec: SchedulerSpec): SchedPolicy {
  return spec.policy === "gvt"
    ? new TbsPolicy(spec.params)
    : new SlicePolicy(spec.policy, spec.params);
}
