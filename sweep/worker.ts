/**
 * Worker entry of a sweep's pool (sweep/pool.ts): each message is a {@link RunJob}, each
 * reply its {@link RunOutput}. A worker lives for the whole sweep, so modules load once per
 * worker instead of once per run.
 */
import { type RunJob, runJob } from "./run_one.ts";

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
scope.onmessage = async (e: MessageEvent<RunJob>) => {
  scope.postMessage(await runJob(e.data));
};
