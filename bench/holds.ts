/**
 * The "holds" model of bench/anchors/: K processes, each holding N times for an
 * exponential delay. Runs it on gvtsim's kernel (EventSink state machines and generator
 * processes) and, when present, on the anchors (a bare JS heap loop, SimPy 2), printing
 * events/s and the ratios. Usage: deno run -A bench/holds.ts [K] [N]
 */
import { type EventSink, Sim } from "../core/sim/sim.ts";

const K = Number(Deno.args[0] ?? 1000), N = Number(Deno.args[1] ?? 1000);

/** One holding process as a state machine: no allocation per event. */
class Holder implements EventSink {
  left = N;
  constructor(private readonly sim: Sim, private readonly rnd: () => number) {}
  onEvent(): void {
    if (this.left-- > 0) this.sim.schedule(Math.round(-Math.log(1 - this.rnd()) * 1000), this, 0);
  }
}

function lcg() {
  let seed = 1;
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
}

function runSinks(): number {
  const sim = new Sim(1);
  const rnd = lcg();
  for (let k = 0; k < K; k++) sim.schedule(0, new Holder(sim, rnd), 0);
  const t0 = performance.now();
  sim.run();
  return (sim.dispatched - K) / ((performance.now() - t0) / 1000);
}

function runGenerators(): number {
  const sim = new Sim(1);
  const rnd = lcg();
  function* proc() {
    for (let i = 0; i < N; i++) yield Math.round(-Math.log(1 - rnd()) * 1000);
  }
  for (let k = 0; k < K; k++) sim.spawn(proc());
  const t0 = performance.now();
  sim.run();
  return (sim.dispatched - K) / ((performance.now() - t0) / 1000);
}

async function anchor(cmd: string, args: string[]): Promise<number | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    const m = /([\d.]+) Mev\/s/.exec(new TextDecoder().decode(out.stdout));
    return m ? Number(m[1]) * 1e6 : undefined;
  } catch {
    return undefined;
  }
}

const here = new URL(".", import.meta.url).pathname;
const anchors = `${here}anchors/`;
const sinks = runSinks();
const gens = runGenerators();
const js = await anchor(Deno.execPath(), ["run", `${anchors}js_heap_holds.mjs`, `${K}`, `${N}`]);
const simpy = await anchor("/usr/bin/python3", [
  `${anchors}simpy2_holds.py`,
  `${K}`,
  `${Math.min(N, 100)}`,
]);
const f = (x: number) => `${(x / 1e6).toFixed(2)} Mev/s`;
console.log(`holds K=${K} N=${N}`);
console.log(`gvtsim sinks       ${f(sinks)}`);
console.log(`gvtsim generators  ${f(gens)}`);
if (js) {
  console.log(
    `js-heap anchor     ${f(js)}  sinks/anchor ${(sinks / js).toFixed(2)}x  gen/anchor ${
      (gens / js).toFixed(2)
    }x`,
  );
} else console.log("js-heap anchor     (not found)");
if (simpy) {
  console.log(`simpy2 anchor      ${f(simpy)}  sinks/simpy ${(sinks / simpy).toFixed(1)}x`);
} else console.log("simpy2 anchor      (python3-simpy not installed)");
