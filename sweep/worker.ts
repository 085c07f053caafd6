/**
 * Worker entry of a sweep's pool (sweep/pool.ts): each message is a {@link RunJob}, each
 * reply its {@link RunOutput}, one run at a time in the order received. A worker lives for
 * the whole sweep, so modules load once per worker instead of once per run.
 */
import { type RunJob, runJob } from "./run_one.ts";

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
let last: Promise<void> = Promise.resolve();
scope.onmessage = (e: MessageEvent<RunJob>) => {
  last = last.then(async () => scope.postMessage(await runJob(e.data)));
};
