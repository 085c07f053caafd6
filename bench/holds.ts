/**
 * The "holds" model of bench/anchors/: K processes, each holding N times for an exponential
 * delay. Runs it on gvtsim's kernel (EventSink state machines, and generator processes) and
 * on the anchors, all with the same K and N: js_heap_holds.mjs (the reference loop issue 15's
 * ">= 2x" criterion is measured against), js_heap_typed_holds.mjs (our faster rewrite of it, the
 * stronger comparison) and SimPy 2; each run in its own process under the same runtime (Deno
 * for gvtsim and the JS heap anchors; SimPy 2 under /usr/bin/python3, Debian's python3-simpy):
 * rounds of every runner in a rotating order, then per runner the median and spread of events/s,
 * by the runner's own clock (wall) and by CPU time (steadier on a loaded machine), and per round
 * the ratios, with their median and spread.
 *
 *   deno run -A bench/holds.ts [K] [N] [--rounds R] [--versus /path/to/old/checkout]
 *                  (--versus adds that checkout's kernel, "old sinks", run the same way)
 *   deno run -A bench/holds.ts --one sinks|generators K N      (one run; prints "<x> Mev/s")
 */
import { type EventSink, Sim } from "../core/sim/sim.ts";

/** One holding process as a state machine: no allocation per event. */
class Holder implements EventSink {
  left: number;
  constructor(private readonly sim: Sim, private readonly rnd: () => number, n: number) {
    this.left = n;
  }
  onEvent(): void {
    if (this.left-- > 0) this.sim.schedule(Math.round(-Math.log(1 - this.rnd()) * 1000), this, 0);
  }
}

function lcg() {
  let seed = 1;
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
}

/** Events per second of the state-machine model. */
export function runSinks(K: number, N: number): number {
  const sim = new Sim(1);
  const rnd = lcg();
  for (let k = 0; k < K; k++) sim.schedule(0, new Holder(sim, rnd, N), 0);
  const t0 = performance.now();
  sim.run();
  return (sim.dispatched - K) / ((performance.now() - t0) / 1000);
}

/** Events per second of the generator model. */
export function runGenerators(K: number, N: number): number {
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

/** A runner: how to start it in a process of its own ("{N}" in args stands for N). */
interface Runner {
  name: string;
  cmd: string;
  args: string[];
}

const here = new URL(".", import.meta.url).pathname;

function runners(K: number, old?: string): Runner[] {
  const deno = Deno.execPath(), self = new URL(import.meta.url).pathname;
  // another checkout's kernel, through its own bench/holds.ts --one
  const versus: Runner[] = old === undefined ? [] : [{
    name: "old sinks",
    cmd: deno,
    args: ["run", "-A", `${old}/bench/holds.ts`, "--one", "sinks", `${K}`, "{N}"],
  }];
  return [
    ...versus,
    {
      name: "gvtsim sinks",
      cmd: deno,
      args: ["run", "-A", self, "--one", "sinks", `${K}`, "{N}"],
    },
    {
      name: "gvtsim generators",
      cmd: deno,
      args: ["run", "-A", self, "--one", "generators", `${K}`, "{N}"],
    },
    {
      name: "js-heap reference",
      cmd: deno,
      args: ["run", `${here}anchors/js_heap_holds.mjs`, `${K}`, "{N}"],
    },
    {
      name: "js-heap typed",
      cmd: deno,
      args: ["run", `${here}anchors/js_heap_typed_holds.mjs`, `${K}`, "{N}"],
    },
    {
      name: "simpy2 anchor",
      cmd: "/usr/bin/python3",
      args: [`${here}anchors/simpy2_holds.py`, `${K}`, "{N}"],
    },
  ];
}

const TIME = "/usr/bin/time";
const hasTime = (() => {
  try {
    return Deno.statSync(TIME).isFile;
  } catch {
    return false;
  }
})();

/** One run: events/s as the runner reports it (wall clock), and the process's CPU seconds. */
interface Run {
  wall?: number;
  cpu?: number;
}

/** One run of a runner with N holds, or undefined when the runner is missing or fails. */
async function measure(r: Runner, N: number): Promise<Run | undefined> {
  const tmp = hasTime ? await Deno.makeTempFile({ prefix: "holds-time-" }) : "";
  try {
    const args = r.args.map((a) => (a === "{N}" ? `${N}` : a));
    const out = hasTime
      ? await new Deno.Command(TIME, {
        args: ["-f", "%U %S", "-o", tmp, r.cmd, ...args],
        stdout: "piped",
        stderr: "null",
      }).output()
      : await new Deno.Command(r.cmd, { args, stdout: "piped", stderr: "null" }).output();
    if (!out.success) return undefined;
    const m = /([\d.]+) Mev\/s/.exec(new TextDecoder().decode(out.stdout));
    const [user, sys] = hasTime ? (await Deno.readTextFile(tmp)).trim().split(" ").map(Number) : [];
    return { wall: m ? Number(m[1]) * 1e6 : undefined, cpu: hasTime ? user + sys : undefined };
  } catch {
    return undefined;
  } finally {
    if (tmp) await Deno.remove(tmp).catch(() => {});
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** "median [min..max]" of a list. */
function spread(xs: number[], f: (x: number) => string): string {
  return `${f(median(xs))} [${f(Math.min(...xs))}..${f(Math.max(...xs))}]`;
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  if (Deno.args[0] === "--one") {
    const [, what, k, n] = Deno.args;
    const rate = what === "generators"
      ? runGenerators(Number(k), Number(n))
      : runSinks(Number(k), Number(n));
    console.log(`${what} K=${k} N=${n} ${(rate / 1e6).toFixed(3)} Mev/s`);
  } else {
    const pos = Deno.args.filter((a, i) =>
      !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--")
    );
    const K = Number(pos[0] ?? 1000), N = Number(pos[1] ?? 1000);
    const rounds = Number(arg("--rounds") ?? 5);
    const old = arg("--versus");
    const rs = runners(K, old);
    // per runner and round: events/s by the runner's own clock, and by CPU time: K*N events over
    // the CPU seconds of the run minus those of the same run with N = 0 (start-up, compiling,
    // creating the K processes), so the fixed cost of a fresh process is left out
    const wall = new Map<string, (number | undefined)[]>(rs.map((r) => [r.name, []]));
    const cpu = new Map<string, (number | undefined)[]>(rs.map((r) => [r.name, []]));
    for (let round = 0; round < rounds; round++) {
      // a rotating order, so no runner always follows the same one
      for (let i = 0; i < rs.length; i++) {
        const r = rs[(i + round) % rs.length];
        const run = await measure(r, N), idle = await measure(r, 0);
        wall.get(r.name)![round] = run?.wall;
        const busy = run?.cpu !== undefined && idle?.cpu !== undefined ? run.cpu - idle.cpu : 0;
        cpu.get(r.name)![round] = busy > 0 ? (K * N) / busy : undefined;
      }
    }
    const mev = (x: number) => (x / 1e6).toFixed(2);
    const load = Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
    console.log(
      `holds K=${K} N=${N}: ${K * N} events per run, ${rounds} rounds in rotating order, ` +
        `each run a fresh process (deno ${Deno.version.deno}); median [min..max]; ` +
        `load average ${load}`,
    );
    const have = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);
    console.log(`${"".padEnd(19)} ${"wall (runner's clock)".padEnd(26)} CPU time (${TIME})`);
    for (const r of rs) {
      const w = have(wall.get(r.name)!), c = have(cpu.get(r.name)!);
      const show = (xs: number[]) => (xs.length ? `${spread(xs, mev)} Mev/s` : "(not available)");
      console.log(`${r.name.padEnd(19)} ${show(w).padEnd(26)} ${show(c)}`);
    }
    const ratio = (a: string, b: string) => {
      const per = (m: Map<string, (number | undefined)[]>) => {
        const xa = m.get(a)!, xb = m.get(b)!;
        const rs: number[] = [];
        for (let i = 0; i < rounds; i++) {
          if (xa[i] !== undefined && xb[i] !== undefined) rs.push(xa[i]! / xb[i]!);
        }
        return rs.length ? spread(rs, (x) => `${x.toFixed(2)}x`) : "-";
      };
      console.log(`${`${a} / ${b}`.padEnd(40)} wall ${per(wall).padEnd(22)} CPU ${per(cpu)}`);
    };
    ratio("gvtsim sinks", "js-heap reference");
    ratio("gvtsim sinks", "js-heap typed");
    ratio("gvtsim generators", "js-heap reference");
    ratio("gvtsim generators", "js-heap typed");
    ratio("gvtsim sinks", "simpy2 anchor");
    if (old !== undefined) {
      ratio("gvtsim sinks", "old sinks");
      ratio("old sinks", "js-heap reference");
    }
  }
}
