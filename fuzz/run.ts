/**
 * `deno task fuzz`: the long fuzz campaigns. Options (defaults in brackets): `--dsl N`
 * [100000] scenario texts, `--names N` [2000] shipped scenarios with a declared name renamed
 * to a word objects inherit or `__proto__` (fuzz/dsl.ts `checkRenamed`), `--checkpoint N`
 * [1000] mutated checkpoints, `--cli N` [200] command lines and REPL scripts, `--seed S` [1],
 * `--max-ms MS` [2000] the most one input may take.
 * Prints, per campaign, inputs run, failures (crashes, internal errors, bad exit codes), the
 * slowest input and percentiles; exits 1 when anything failed or an input took longer than
 * `--max-ms`. Failing and slow inputs are written to fuzz/out/ to reproduce.
 * @module
 */

import fc from "fast-check";
import { anyScenarioText, checkRenamed, checkScenarioText, renamedScenario } from "./dsl.ts";
import { baseCheckpoint, checkCheckpointText, mutatedCheckpoint } from "./checkpoint.ts";
import { argv, checkCliRun, replScript, runCli, scratchDir } from "./cli.ts";

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const seed = option("--seed", 1), maxMs = option("--max-ms", 2000);
const outDir = new URL("./out/", import.meta.url).pathname;
let failed = false;

/** Timings and failures of one campaign. */
class Campaign {
  private readonly ms: number[] = [];
  private failures = 0;
  private slow = 0;
  constructor(readonly name: string, readonly limitMs = maxMs) {}

  record(input: string, ms: number, problems: string[]): void {
    this.ms.push(ms);
    if (problems.length === 0 && ms <= this.limitMs) return;
    if (problems.length) this.failures++;
    else this.slow++;
    Deno.mkdirSync(outDir, { recursive: true });
    const n = this.failures + this.slow;
    Deno.writeTextFileSync(`${outDir}${this.name}-${n}.txt`, input);
    console.log(`${this.name} #${this.ms.length}: ${ms.toFixed(0)} ms ${problems.join("; ")}`);
  }

  report(): void {
    const s = [...this.ms].sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
    const total = s.reduce((a, b) => a + b, 0);
    console.log(
      `${this.name}: ${s.length} inputs, ${this.failures} failures, ${this.slow} over ${this.limitMs} ms; ` +
        `mean ${(total / Math.max(1, s.length)).toFixed(2)} ms, p50 ${at(0.5).toFixed(2)}, ` +
        `p99 ${at(0.99).toFixed(1)}, max ${at(1).toFixed(0)} ms, total ${
          (total / 1000).toFixed(0)
        } s`,
    );
    if (this.failures || this.slow) failed = true;
  }
}

function dsl(n: number): void {
  const c = new Campaign("dsl");
  for (let done = 0, batch = 0; done < n; batch++) {
    const k = Math.min(1000, n - done);
    for (const text of fc.sample(anyScenarioText, { numRuns: k, seed: seed * 100_003 + batch })) {
      const t0 = performance.now();
      const problems = checkScenarioText(text);
      c.record(text, performance.now() - t0, problems);
    }
    done += k;
    if (batch % 10 === 9) console.log(`dsl: ${done} inputs`);
  }
  c.report();
}

function names(n: number): void {
  const c = new Campaign("names");
  for (const r of fc.sample(renamedScenario, { numRuns: n, seed })) {
    const t0 = performance.now();
    const problems = checkRenamed(r);
    c.record(r.text, performance.now() - t0, problems);
  }
  c.report();
}

async function checkpoints(n: number): Promise<void> {
  // each input builds and restores a world: its limit is 10 s
  const c = new Campaign("checkpoint", 10_000);
  const base = await baseCheckpoint();
  for (const text of fc.sample(mutatedCheckpoint(base), { numRuns: n, seed })) {
    const t0 = performance.now();
    const problems = await checkCheckpointText(text);
    c.record(text, performance.now() - t0, problems);
  }
  c.report();
}

async function cli(n: number): Promise<void> {
  // a subprocess takes a second or more to start (more on a loaded machine): its limit is 30 s
  const c = new Campaign("cli", 30_000);
  const dir = scratchDir();
  const lines = fc.sample(argv, { numRuns: Math.ceil(n * 0.75), seed });
  const scripts = fc.sample(replScript, { numRuns: Math.floor(n * 0.25), seed: seed + 1 });
  const jobs = [
    ...lines.map((a) => ({ input: a.join(" "), run: () => runCli(a, dir) })),
    ...scripts.map((s) => ({ input: `repl <<<\n${s}`, run: () => runCli(["repl"], dir, s) })),
  ];
  for (let i = 0; i < jobs.length; i += 2) {
    const two = jobs.slice(i, i + 2);
    const runs = await Promise.all(two.map((j) => j.run()));
    runs.forEach((r, k) => c.record(two[k].input, r.ms, checkCliRun(r)));
  }
  Deno.removeSync(dir, { recursive: true });
  c.report();
}

dsl(option("--dsl", 100_000));
names(option("--names", 2000));
await checkpoints(option("--checkpoint", 1000));
await cli(option("--cli", 200));
Deno.exit(failed ? 1 : 0);
