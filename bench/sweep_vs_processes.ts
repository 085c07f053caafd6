/**
 * Issue 13's bench: a 12-run grid (scenarios/sweep.gvt, 2 policies x 2 worker counts x 3
 * seeds, 1 s simulated each) run as 12 separate `gvtsim run` processes, one after another and
 * two at a time, against one `gvtsim sweep` process with -j 1 and -j 2. Every variant is a
 * subprocess started the way a user starts it (`deno run` with the gvtsim task's permissions),
 * so Deno's start-up is counted where it is paid. Prints wall seconds and the ratios.
 *
 *   deno run -A bench/sweep_vs_processes.ts [--repeat N]
 */

const root = new URL("..", import.meta.url).pathname;
const main = `${root}main.ts`;
const PERMS = ["--allow-read", "--allow-write", "--allow-env=NO_COLOR,HOME,GVTSIM_HISTORY"];
const POLICIES = ["gvt", "gvirt-rr"];
const WORKERS = ["1", "2"];
const SEEDS = [1, 2, 3];
const repeat = Number(Deno.args[Deno.args.indexOf("--repeat") + 1]) || 1;

async function gvtsim(args: string[]): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMS, main, ...args],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (r.code > 1) {
    throw new Error(`gvtsim ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
}

async function timed(f: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
}

const runs = POLICIES.flatMap((p) =>
  WORKERS.flatMap((w) =>
    SEEDS.map((
      s,
    ) => [
      "run",
      "scenarios/sweep.gvt",
      "-D",
      `policy=${p}`,
      "-D",
      `workers=${w}`,
      "--seed",
      String(s),
      "-q",
    ])
  )
);

async function processes(parallel: number): Promise<void> {
  const queue = [...runs];
  await Promise.all(Array.from({ length: parallel }, async () => {
    for (let a = queue.shift(); a; a = queue.shift()) await gvtsim(a);
  }));
}

async function sweepOnce(jobs: number): Promise<void> {
  const out = await Deno.makeTempDir();
  try {
    await gvtsim([
      "sweep",
      "scenarios/sweep.gvt",
      "-D",
      `policy=${POLICIES.join(",")}`,
      "-D",
      `workers=${WORKERS.join(",")}`,
      "--seeds",
      `${SEEDS[0]}..${SEEDS[SEEDS.length - 1]}`,
      "-j",
      String(jobs),
      "--out",
      out,
      "--quiet",
    ]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

const variants: [string, () => Promise<void>][] = [
  ["12 x gvtsim run, one at a time", () => processes(1)],
  ["12 x gvtsim run, two at a time", () => processes(2)],
  ["gvtsim sweep -j 1 (one process)", () => sweepOnce(1)],
  ["gvtsim sweep -j 2 (+1 Worker)", () => sweepOnce(2)],
];
const best = new Map<string, number>();
for (let i = 0; i < repeat; i++) {
  for (const [name, f] of variants) {
    const s = await timed(f);
    best.set(name, Math.min(best.get(name) ?? Infinity, s));
    console.log(`${name}: ${s.toFixed(2)} s`);
  }
}
const base = best.get(variants[0][0])!;
console.log(
  `\nbest of ${repeat}, load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
);
for (const [name] of variants) {
  const s = best.get(name)!;
  console.log(`${name.padEnd(34)} ${s.toFixed(2).padStart(6)} s  ${(base / s).toFixed(2)}x`);
}
