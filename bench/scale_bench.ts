/**
 * Scale: "7 busy vGPUs for 10 s simulated" (issue 3, Speed). Runs
 * tests/fixtures/scenarios/scale7.gvt (seven always-busy V5_8 vGPUs on a 1 GiB aperture,
 * isolation invariant on) through the real entry points (parseScenarioText -> World ->
 * run -> collectResults) under each hypervisor, and prints simulated seconds, wall
 * seconds, their ratio (aim: >= 10x faster than real time), events dispatched per wall
 * second and a few sanity figures (batches, traps, vGPU switches).
 *
 * As a script:   deno run -A bench/scale_bench.ts [--seconds 10] [--hv kvm,xen] [--no-invariants] [--repeat 1]
 * Profile:       deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof bench/scale_bench.ts --hv kvm
 *                (then: deno run -A bench/scale_bench.ts --profile /tmp/prof/<file>.cpuprofile)
 * Matrix:        deno run -A bench/scale_bench.ts --matrix [--vms 1,2,4,7] [--durations 10,40,160]
 *                (each run in a fresh process: simulated s per wall s and peak RSS, traced or not)
 * Side by side:  deno run -A bench/scale_bench.ts --versus /path/to/old/checkout [--rounds 5]
 *                (this checkout and another one alternately, same arguments: the speed-up)
 * Cold runs:     deno run -A bench/scale_bench.ts --cold [--versus DIR] [--rounds 6]
 *                [--scenario scenarios/contention7.gvt] [--seconds 1,10] [--v8-flags F]
 *                (what a fresh process pays: each run a new process, CPU ms of parsing,
 *                building the world, the first simulated ms (the guests boot), the rest of
 *                the run and the results; with --versus, the other checkout's code is
 *                imported by this same harness and alternated with this one's)
 * Under `deno bench` (deno task bench) it registers a short variant (1 s simulated, kvm)
 * instead, so the bench suite stays quick.
 */
import { formatDiagnostics, parseScenarioText } from "../dsl/mod.ts";
import { World, WorldError } from "../core/world.ts";
import { collectResults } from "../core/metrics/collect.ts";
import type { Scenario } from "../core/scenario.ts";
import { TraceFile } from "../cli/trace_file.ts";
import type { ColdRun } from "./cold_run.ts";
import process from "node:process";

const FIXTURE = new URL("../tests/fixtures/scenarios/scale7.gvt", import.meta.url).pathname;

/** The scale scenario, optionally with the invariant checker off or another number of VMs. */
export function scaleScenario(opts: { invariants?: boolean; vms?: number } = {}): Scenario {
  let text = Deno.readTextFileSync(FIXTURE);
  if (opts.invariants === false) text = text.replace("invariants on", "invariants off");
  if (opts.vms !== undefined && opts.vms !== 7) {
    // its expectations name guest7: only the seven-VM world keeps them
    text = text.replace("vm guest[7]", `vm guest[${opts.vms}]`).replace(/^expect .*$/gm, "");
  }
  const r = parseScenarioText(text, FIXTURE);
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics, r.sources));
  return r.scenario;
}

/** One measured run. */
export interface ScaleRun {
  hypervisor: string;
  simulatedS: number;
  wallS: number;
  /** Wall seconds spent building the world (included in wallS). */
  createS: number;
  /** Simulated seconds per wall second. */
  ratio: number;
  /** CPU seconds of the process during the run (user + system, all threads). */
  cpuS: number;
  /** Simulated seconds per CPU second (moves less with the machine's load than `ratio`). */
  cpuRatio: number;
  events: number;
  eventsPerWallS: number;
  batches: number;
  traps: number;
  switches: number;
  violations: number;
}

/** Builds and runs the world for `seconds` simulated seconds under `hypervisor`. */
export async function runScale(
  hypervisor: string,
  seconds: number,
  invariants = true,
): Promise<ScaleRun> {
  const s = scaleScenario({ invariants });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const w = await World.create(s, { hypervisor });
  if (w instanceof WorldError) throw new Error(w.message);
  const createS = (performance.now() - t0) / 1000;
  w.run(seconds * 1e9);
  const r = collectResults(w);
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0), cpuS = (c.user + c.system) / 1e6;
  return {
    hypervisor: w.gate.backend.name,
    simulatedS: w.sim.now / 1e9,
    wallS,
    createS,
    ratio: w.sim.now / 1e9 / wallS,
    cpuS,
    cpuRatio: w.sim.now / 1e9 / cpuS,
    events: w.sim.dispatched,
    eventsPerWallS: w.sim.dispatched / wallS,
    batches: r.vms.reduce((a, v) => a + v.completed, 0),
    traps: r.vms.reduce((a, v) => a + v.traps.total, 0),
    switches: r.scheduler.switches,
    violations: r.isolation.violations,
  };
}

/** One cell of the matrix: a world of `vms` busy vGPUs run for `seconds`, traced or not. */
export interface MatrixRun {
  vms: number;
  seconds: number;
  traced: boolean;
  wallS: number;
  /** Simulated seconds per wall second (world creation included). */
  ratio: number;
  /** Peak resident set size of the process (MiB), from /proc/self/status (Linux). */
  peakRssMiB: number | null;
  /** Size of the trace written (MiB). */
  traceMiB: number;
}

/** Peak RSS of this process in MiB (Linux's VmHWM), null elsewhere. */
function peakRss(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Runs one matrix cell in this process (kvm, invariants on; a trace streams to a temp file). */
export async function runMatrixCell(
  vms: number,
  seconds: number,
  traced: boolean,
): Promise<MatrixRun> {
  const t0 = performance.now();
  const w = await World.create(scaleScenario({ vms }), { trace: traced });
  if (w instanceof WorldError) throw new Error(w.message);
  let traceMiB = 0;
  const path = traced ? Deno.makeTempFileSync({ suffix: ".trace.json" }) : "";
  try {
    const file = traced ? TraceFile.open(path) : null;
    if (file) file.attach(w.trace!, w.sim);
    w.run(seconds * 1e9);
    const results = collectResults(w);
    if (file) {
      const staged = file.finish(w.trace!, results);
      traceMiB = Deno.statSync(staged.tmp).size / 2 ** 20;
      Deno.removeSync(staged.tmp);
    }
  } finally {
    if (path) Deno.removeSync(path);
  }
  const wallS = (performance.now() - t0) / 1000;
  return { vms, seconds, traced, wallS, ratio: seconds / wallS, peakRssMiB: peakRss(), traceMiB };
}

/** Self and inclusive time by function of a V8 .cpuprofile (top `n`), as printable lines. */
export function profileTop(path: string, n = 20): string[] {
  const p = JSON.parse(Deno.readTextFileSync(path)) as {
    nodes: {
      id: number;
      callFrame: { functionName: string; url: string; lineNumber: number };
      children?: number[];
    }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const keyOf = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.replace(/^file:\/\//, "").replace(
      /^.*\/(core|plugins|bench|dsl|cli)\//,
      "$1/",
    );
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const key = keyOf(id);
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let q: number | undefined = id; q !== undefined; q = parent.get(q)) {
      const k = keyOf(q);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  });
  // Also by file, which is a coarser "phase" view.
  const byFile = new Map<string, number>();
  for (const [k, v] of self) {
    const file = k.slice(k.lastIndexOf(" ") + 1).split(":")[0] || k;
    byFile.set(file, (byFile.get(file) ?? 0) + v);
  }
  const pc = (v: number) => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`total ${(total / 1000).toFixed(0)} ms sampled`, "self time by function:"];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    lines.push(`  ${pc(v)}  ${k}`);
  }
  lines.push("inclusive time by function:");
  for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 2 * n)) {
    lines.push(`  ${pc(v)}  ${k}`);
  }
  lines.push("self time by file:");
  for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    lines.push(`  ${pc(v)}  ${k}`);
  }
  return lines;
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

/** Runs every cell in a fresh process and prints one row each. */
async function matrix(vmsList: number[], durations: number[]): Promise<void> {
  const self = new URL(import.meta.url).pathname;
  console.log(
    `scale matrix: busy V5_8 vGPUs (kvm, invariants on), each cell a fresh process ` +
      `(${navigator.hardwareConcurrency} cores, deno ${Deno.version.deno})`,
  );
  console.log("vms  sim s  traced   wall s   sim/wall  peak RSS MiB  trace MiB");
  for (const vms of vmsList) {
    for (const seconds of durations) {
      for (const traced of [false, true]) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", self, "--cell", `${vms}`, `${seconds}`, traced ? "traced" : "plain"],
          stdout: "piped",
          stderr: "inherit",
        }).output();
        const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
        if (!out.success || !line.startsWith("{")) {
          console.log(`${vms} ${seconds} ${traced}: failed`);
          continue;
        }
        const r = JSON.parse(line) as MatrixRun;
        console.log(
          [
            String(vms).padStart(3),
            String(seconds).padStart(6),
            (traced ? "yes" : "no").padStart(7),
            r.wallS.toFixed(2).padStart(8),
            `${r.ratio.toFixed(1)}x`.padStart(10),
            (r.peakRssMiB === null ? "n/a" : r.peakRssMiB.toFixed(0)).padStart(13),
            (traced ? r.traceMiB.toFixed(1) : "-").padStart(10),
          ].join(" "),
        );
      }
    }
  }
}

/**
 * The "12.3x" figures of each measured line a scale bench printed: simulated/wall, then
 * simulated/CPU (when the checkout's bench prints it).
 */
function ratiosOf(text: string): { wall: number[]; cpu: number[] } {
  const out = { wall: [] as number[], cpu: [] as number[] };
  for (const line of text.split("\n")) {
    if (!/^(kvm|xen)/.test(line)) continue;
    const m = [...line.matchAll(/\s(\d+(?:\.\d+)?)x(?=\s|$)/g)].map((x) => Number(x[1]));
    if (m.length > 0) out.wall.push(m[0]);
    if (m.length > 1) out.cpu.push(m[1]);
  }
  return out;
}

/**
 * This checkout against another one: alternate runs with the same arguments, the speed-up in
 * simulated seconds per wall second and, when both benches print it, per CPU second (on a
 * shared machine the CPU figure is the one to go by).
 */
async function versus(old: string, rounds: number, args: string[]): Promise<void> {
  const mean = (xs: number[]) => xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  const run = async (dir: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${dir}/bench/scale_bench.ts`, ...args],
      cwd: dir,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const r = ratiosOf(new TextDecoder().decode(out.stdout));
    if (!out.success || r.wall.length === 0) throw new Error(`${dir}: the scale bench failed`);
    return { wall: mean(r.wall), cpu: mean(r.cpu) };
  };
  const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  console.log(`side by side: ${here} (new) vs ${old} (old), scale_bench.ts ${args.join(" ")}`);
  console.log(
    "round   old sim/wall   new sim/wall   new/old   old sim/cpu   new sim/cpu   new/old",
  );
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // alternate which goes first, so neither always runs on a warmer machine
    const [a, b] = i % 2 === 0 ? [old, here] : [here, old];
    const ra = await run(a), rb = await run(b);
    const [o, n] = a === old ? [ra, rb] : [rb, ra];
    wall.push(n.wall / o.wall);
    cpu.push(n.cpu / o.cpu);
    console.log(
      `${String(i + 1).padStart(5)} ${o.wall.toFixed(1).padStart(13)}x ${
        n.wall.toFixed(1).padStart(13)
      }x ${(n.wall / o.wall).toFixed(2).padStart(8)}x ${o.cpu.toFixed(1).padStart(12)}x ${
        n.cpu.toFixed(1).padStart(12)
      }x ${(n.cpu / o.cpu).toFixed(2).padStart(8)}x`,
    );
  }
  const summary = (xs: number[]) => {
    const s = xs.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
    if (s.length === 0) return "n/a (the old bench prints no CPU figure)";
    const med = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    return `median ${med.toFixed(2)}x [${s[0].toFixed(2)}..${s.at(-1)!.toFixed(2)}]`;
  };
  console.log(`speed-up new/old, sim per wall s: ${summary(wall)}`);
  console.log(`speed-up new/old, sim per CPU s:  ${summary(cpu)}`);
  console.log(`load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
}

/** Cold runs of this checkout (and `old`, alternated), each a fresh process; prints medians. */
async function cold(
  old: string | undefined,
  rounds: number,
  scenario: string,
  secs: number[],
  v8Flags: string | undefined,
) {
  const child = new URL("./cold_run.ts", import.meta.url).pathname;
  const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const dirs = old === undefined ? [here] : [old, here];
  const runs = new Map<string, ColdRun[]>();
  const loads: number[] = [];
  console.log(
    `cold runs of ${scenario}, a fresh process each, CPU ms (user + system, all threads)` +
      ` by part, median [min..max] of ${rounds} rounds`,
  );
  for (let i = 0; i < rounds; i++) {
    loads.push(Deno.loadavg()[0]);
    const order = i % 2 === 0 ? dirs : [...dirs].reverse();
    for (const s of secs) {
      for (const dir of order) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--config",
            `${dir}/deno.json`,
            ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
            child,
            dir,
            scenario,
            `${s}`,
          ],
          cwd: dir,
          stdout: "piped",
          stderr: "inherit",
        }).output();
        const line = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
        if (!out.success || !line.startsWith("{")) throw new Error(`${dir}: the cold run failed`);
        const key = `${dir}\t${s}`;
        runs.set(key, [...(runs.get(key) ?? []), JSON.parse(line) as ColdRun]);
      }
    }
  }
  const med = (xs: number[]) => {
    const t = [...xs].sort((a, b) => a - b);
    return t.length % 2 ? t[t.length >> 1] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
  };
  const cell = (xs: number[]) =>
    `${med(xs).toFixed(0)} [${Math.min(...xs).toFixed(0)}..${Math.max(...xs).toFixed(0)}]`;
  const parts: (keyof ColdRun)[] = [
    "load",
    "parse",
    "create",
    "boot",
    "run",
    "collect",
    "total",
    "wall",
  ];
  console.log(["checkout", "sim s", ...parts].map((x) => x.padEnd(18)).join(""));
  for (const s of secs) {
    for (const dir of dirs) {
      const rs = runs.get(`${dir}\t${s}`)!;
      const name = dir === here ? "this" : "versus";
      console.log(
        [name, `${s}`, ...parts.map((p) => cell(rs.map((r) => r[p])))].map((x) => x.padEnd(18))
          .join(""),
      );
    }
    if (old !== undefined) {
      const t = (d: string) => med(runs.get(`${d}\t${s}`)!.map((r) => r.total));
      console.log(`  ${s} s: this / versus total CPU = ${(t(here) / t(old)).toFixed(2)}`);
    }
  }
  console.log(
    `load average (1 min) at each round: ${loads.map((x) => x.toFixed(1)).join(" ")}` +
      (old !== undefined ? `; versus = ${old}` : ""),
  );
}

if (import.meta.main) {
  const prof = arg("--profile");
  const cell = Deno.args.indexOf("--cell");
  const old = arg("--versus");
  if (Deno.args.includes("--cold")) {
    await cold(
      arg("--versus"),
      Number(arg("--rounds") ?? 6),
      arg("--scenario") ?? "scenarios/contention7.gvt",
      (arg("--seconds") ?? "1,10").split(",").map(Number),
      arg("--v8-flags"),
    );
  } else if (cell >= 0) {
    const [vms, seconds, traced] = Deno.args.slice(cell + 1);
    console.log(
      JSON.stringify(await runMatrixCell(Number(vms), Number(seconds), traced === "traced")),
    );
  } else if (Deno.args.includes("--matrix")) {
    const list = (name: string, d: string) => (arg(name) ?? d).split(",").map(Number);
    await matrix(list("--vms", "1,2,4,7"), list("--durations", "10,40,160"));
  } else if (old) {
    const rest: string[] = [];
    for (let i = 0; i < Deno.args.length; i++) {
      if (Deno.args[i] === "--versus" || Deno.args[i] === "--rounds") i++;
      else rest.push(Deno.args[i]);
    }
    await versus(old, Number(arg("--rounds") ?? 5), rest.length ? rest : ["--hv", "kvm"]);
  } else if (prof) {
    console.log(profileTop(prof, Number(arg("--top") ?? 20)).join("\n"));
  } else {
    const seconds = Number(arg("--seconds") ?? 10);
    const hvs = (arg("--hv") ?? "kvm,xen").split(",");
    const repeat = Number(arg("--repeat") ?? 1);
    const invariants = !Deno.args.includes("--no-invariants");
    console.log(
      `scale: 7 busy vGPUs, ${seconds} s simulated, invariants ${invariants ? "on" : "off"}` +
        ` (${navigator.hardwareConcurrency} cores, deno ${Deno.version.deno})`,
    );
    console.log(
      "hv    sim s   wall s  (create)   sim/wall   sim/cpu   events   Mev/wall-s   batches    traps  switches  viol",
    );
    for (const hv of hvs) {
      for (let k = 0; k < repeat; k++) {
        const r = await runScale(hv, seconds, invariants);
        console.log(
          [
            r.hypervisor.padEnd(4),
            r.simulatedS.toFixed(1).padStart(6),
            r.wallS.toFixed(3).padStart(8),
            `(${r.createS.toFixed(3)})`.padStart(10),
            `${r.ratio.toFixed(1)}x`.padStart(10),
            `${r.cpuRatio.toFixed(1)}x`.padStart(9),
            String(r.events).padStart(8),
            (r.eventsPerWallS / 1e6).toFixed(3).padStart(12),
            String(r.batches).padStart(9),
            String(r.traps).padStart(8),
            String(r.switches).padStart(9),
            String(r.violations).padStart(5),
          ].join(" "),
        );
        if (r.ratio < 10) console.log(`  below the 10x aim (${r.ratio.toFixed(1)}x)`);
      }
    }
  }
} else {
  // `deno bench`: one simulated second of the same world (creation included).
  Deno.bench("scale: 7 busy vGPUs, 1 s simulated (kvm)", { group: "scale" }, async () => {
    const r = await runScale("kvm", 1);
    if (r.violations !== 0) throw new Error("isolation violations");
  });
}
