/**
 * Runs jobs N at a time: one lane in the calling thread (its modules are loaded already) and
 * N-1 lanes on long-lived Deno Workers (sweep/worker.ts), each kept one job ahead so that it
 * never waits while the calling thread simulates. Workers inherit the process's permissions
 * (read and write), so a run in a worker can do exactly what `gvtsim run` can.
 */

import { type RunJob, runJob, type RunOutput } from "./run_one.ts";

/** Jobs a worker holds at once: the one it runs and the next. */
const AHEAD = 2;

/**
 * Runs every job, at most `jobs` at once, calling `started` as each begins and `done` as each
 * finishes (in completion order). A worker that dies fails its jobs with the error and is
 * replaced.
 */
export async function runPool(
  work: readonly RunJob[],
  jobs: number,
  done: (out: RunOutput) => void,
  started: (job: RunJob) => void = () => {},
): Promise<void> {
  const queue = [...work];
  const lanes = Math.max(1, Math.min(jobs, work.length));
  const local = async (): Promise<void> => {
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      started(job);
      done(await runJob(job));
    }
  };
  await Promise.all([
    local(),
    ...Array.from({ length: lanes - 1 }, () => remote(queue, done, started)),
  ]);
}

/** One worker lane: takes jobs from `queue` until it is empty. */
async function remote(
  queue: RunJob[],
  done: (out: RunOutput) => void,
  started: (job: RunJob) => void,
): Promise<void> {
  const url = new URL("./worker.ts", import.meta.url);
  while (queue.length > 0) {
    const worker = new Worker(url, { type: "module" });
    const inFlight = new Map<number, RunJob>();
    const crashed = await new Promise<string | undefined>((finish) => {
      const feed = () => {
        while (inFlight.size < AHEAD) {
          const job = queue.shift();
          if (job === undefined) break;
          inFlight.set(job.run, job);
          started(job);
          worker.postMessage(job);
        }
        if (inFlight.size === 0) finish(undefined);
      };
      worker.onmessage = (e: MessageEvent<RunOutput>) => {
        inFlight.delete(e.data.run);
        done(e.data);
        feed();
      };
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        finish(e.message);
      };
      worker.onmessageerror = () => finish("its reply could not be read");
      feed();
    });
    worker.terminate();
    if (crashed === undefined) return;
    for (const job of inFlight.values()) {
      done({
        run: job.run,
        error: `worker failed: ${crashed}`,
        latencyCdf: {},
        randomDraws: false,
        wallMs: 0,
      });
    }
  }
}
