import { loadOrReport } from "/work/main/cli/run.ts";
import { World } from "/work/main/core/world.ts";
const sc = loadOrReport("/work/main/scenarios/demo.gvt", undefined, (s) => console.error(s))!;
const w = await World.create(sc, {}) as World;
const gvt = w.gvt;
for (const t of [1000]) {
  w.run(t * 1e6);
  const rows = gvt.vgpus.filter(Boolean).map((v) => `${v!.vm}: cr ${v!.counters.workloadsCreated} done ${v!.counters.workloadsCompleted} sched ${(v!.counters.schedNs/1e6).toFixed(0)}ms left ${(v!.sched.leftTs/1e6).toFixed(1)} pri ${v!.sched.priSched} q ${v!.queues.map(q=>q.length)}`);
  console.log(t, "cur", gvt.sched.current?.vm, "drain", (gvt.globalCounters.drainWaitNs/1e6).toFixed(0), "run", gvt.dispatcher.running.map(x => x ? x.vgpu.vm + ":" + x.state : "-").join(","), "\n  " + rows.join("\n  "));
}
console.log(w.gpu.faults.slice(0, 5).map(String));
console.log(gvt.vgpus.filter(Boolean).map((v) => [v!.vm, v!.counters.workloadsDropped, v!.failsafeReason]));
