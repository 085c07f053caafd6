/**
 * Runs jobs on a small pool of long-lived Deno Workers (sweep/worker.ts), or in the calling
 * thread when one job runs at a time. Workers inherit the process's permissions (read and
 * write), so a run in a worker can do exactly what `gvtsim run` can.
 */

import { type RunJob, runJob, type RunOutput } from "./run_one.ts";

/**
 * Runs every job, at most `jobs` at once, calling `done` as each finishes (in completion
 * order). A worker that dies fails its job with the error and is replaced.
 */
export async function runPool(
  work: readonly RunJob[],
  jobs: number,
  done: (out: RunOutput) => void,
  started: (job: RunJob) => void = () => {},
): Promise<void> {
  if (jobs <= 1 || work.length <= 1) {
    for (const job of work) {
      started(job);
      done(await runJob(job));
    }
    return;
  }
  const queue = [...work];
  const url = new URL("./worker.ts", import.meta.url);
  const lane = async (): Promise<void> => {
    let worker: Worker | undefined;
    try {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        worker ??= new Worker(url, { type: "module" });
        started(job);
        const out = await ask(worker, job);
        if (out.error?.startsWith(WORKER_DIED)) {
          worker.terminate();
          worker = undefined;
        }
        done(out);
      }
    } finally {
      worker?.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, work.length) }, lane));
}

const WORKER_DIED = "worker failed: ";

/** Sends one job and waits for its reply, or for the worker to fail. */
function ask(worker: Worker, job: RunJob): Promise<RunOutput> {
  return new Promise((resolve) => {
    const fail = (why: string) =>
      resolve({
        run: job.run,
        error: WORKER_DIED + why,
        latencyCdf: {},
        randomDraws: false,
        wallMs: 0,
      });
    worker.onmessage = (e: MessageEvent<RunOutput>) => resolve(e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      fail(e.message);
    };
    worker.onmessageerror = () => fail("its reply could not be read");
    worker.postMessage(job);
  });
}
