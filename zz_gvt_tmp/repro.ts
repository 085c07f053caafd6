import { addGuest, gvtRig, mix } from "../tests/gvt_util.ts";
import { MS } from "../core/sim/sim.ts";
const r = await gvtRig();
const { v, drv } = addGuest(r, { vm: "d", type: "V5_8" });
drv.boot();
r.sim.runFor(5 * MS);
for (let i = 0; i < 30; i++) {
  drv.submitBatch(1, mix({ blit: 10, store: 1 }));
  drv.submitBatch(0, mix({ draw: 20 }));
  r.sim.runFor(10 * MS);
  if (r.gpu.faults.length) { console.log("iter", i, r.gpu.faults.map(String)); break; }
}
console.log(v.counters.workloadsCompleted, v.counters.workloadsDropped, v.counters.wpTraps, v.counters.sptAlloc);
