/**
 * Worker side of bench/worker_bench.ts: hosts one backend (kvm, the reference) behind its
 * own MPT gate inside a Worker, and answers op requests posted by the main thread. Each
 * message is `[op, vgpuId, arg, n]`: run `op` `n` times (arg, arg+1, ...) and reply with the
 * last result, so one message can carry one op or a batch.
 */
import { Sim } from "../core/sim/sim.ts";
import { HostMemory } from "../core/hw/memory.ts";
import { GuestMemory } from "../core/guest/memory.ts";
import { SimBackendContext } from "../core/mpt/context.ts";
import { MptGate } from "../core/mpt/gate.ts";
import kvm from "../plugins/kvm.ts";

/** Builds the gate the worker serves (also used by the bench's direct-call baseline). */
export function makeGate(): MptGate {
  const sim = new Sim(1);
  const host = new HostMemory(256 * 1024 * 1024);
  const ctx = new SimBackendContext(sim);
  ctx.setGuestMemory(1, new GuestMemory(host, 1, 64 * 1024 * 1024));
  const gate = new MptGate(sim, kvm(ctx), "plugins/kvm.ts (kvm)", [], { charged: ctx });
  gate.attachVgpu({ id: 1, vm: "bench", memory: 64 << 20, vcpus: 1, bar0: 0, bar2: 0 });
  return gate;
}

/** Runs one request on the gate; returns the last result. */
export function serve(gate: MptGate, op: number, id: number, arg: number, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) {
    const g = (arg + i) % 16384;
    r = op === 0 ? gate.gfnToMfn(id, g) : gate.isValidGfn(id, g) ? 1 : 0;
  }
  gate.takeCost();
  return r;
}

// deno-lint-ignore no-explicit-any
const self_ = globalThis as any;
if (typeof self_.postMessage === "function" && typeof self_.WorkerGlobalScope !== "undefined") {
  const gate = makeGate();
  self_.onmessage = (e: MessageEvent<number[]>) => {
    const [op, id, arg, n] = e.data;
    self_.postMessage(serve(gate, op, id, arg, n));
  };
}
