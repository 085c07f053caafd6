/**
 * Least privilege: what would running a backend inside a Worker with no permissions cost
 * per op? Compares one MPT op (`gfnToMfn` through the gate) called directly with the same op
 * served by a Worker (postMessage round trip), one op per message and 64 per message.
 *
 * The Worker inherits the bench's permissions (`deno task bench`: `--allow-read` only, so
 * no network, env, run or write). A Worker with no permissions at all
 * (`deno: { permissions: "none" }`) needs `--unstable-worker-options`, and Deno exits at
 * once without that flag, so it is opt-in: pass the bench argument `none`
 * (`deno bench --allow-read --unstable-worker-options bench/worker_bench.ts -- none`).
 * The permission set does not change the message cost (docs/plugins.md has both numbers).
 */
import { makeGate, serve } from "./worker_host.ts";

const url = new URL("./worker_host.ts", import.meta.url).href;
const none = Deno.args.includes("none");
const mode = none ? "no permissions" : "inherited permissions";
const worker = new Worker(
  url,
  (none ? { type: "module", deno: { permissions: "none" } } : { type: "module" }) as WorkerOptions,
);

let resolveReply: ((v: number) => void) | null = null;
worker.onmessage = (e: MessageEvent<number>) => {
  const r = resolveReply;
  resolveReply = null;
  r?.(e.data);
};
function call(op: number, arg: number, n: number): Promise<number> {
  return new Promise((res) => {
    resolveReply = res;
    worker.postMessage([op, 1, arg, n]);
  });
}
await call(0, 0, 1); // warm up: the worker has loaded and built its gate

const gate = makeGate();
let k = 0;

Deno.bench("gfnToMfn: direct call through the gate", { group: "op", baseline: true }, () => {
  serve(gate, 0, 1, k++, 1);
});

Deno.bench(`gfnToMfn: Worker round trip, 1 op/message (${mode})`, { group: "op" }, async () => {
  await call(0, k++, 1);
});

Deno.bench(
  `gfnToMfn: Worker round trip, 64 ops/message (${mode})`,
  { group: "batch" },
  async () => {
    await call(0, k, 64);
    k += 64;
  },
);

Deno.bench("gfnToMfn: direct, 64 ops", { group: "batch", baseline: true }, () => {
  serve(gate, 0, 1, k, 64);
  k += 64;
});

globalThis.addEventListener("unload", () => worker.terminate());
