/**
 * A throw-away single-node Slurm cluster on localhost for tests: its own MUNGE daemon (own
 * key and socket), slurmctld and slurmd, a slurm.conf in a temporary directory, free ports.
 * Nothing outside that directory is touched; {@link SlurmCluster.stop} ends every daemon it
 * started (by pid) and removes the directory. Needs Debian's slurmctld, slurmd, slurm-client
 * and munge (.ci/run installs them).
 */

const BINARIES = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"];

/** A running cluster. */
export interface SlurmCluster {
  /** Its directory (configuration, state, logs, socket). */
  dir: string;
  /** Environment for Slurm commands (SLURM_CONF). */
  env: Record<string, string>;
  /** Runs a Slurm command against this cluster. */
  run(
    cmd: string,
    args: string[],
    cwd?: string,
  ): Promise<{ code: number; out: string; err: string }>;
  /** Cancels a job and waits (up to 10 s) until none of its tasks runs any more. */
  cancel(job: string): Promise<void>;
  /** Stops every daemon it started and removes its directory. */
  stop(): Promise<void>;
}

async function which(bin: string): Promise<string | undefined> {
  for (
    const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"]
  ) {
    try {
      if (Deno.statSync(`${dir}/${bin}`).isFile) return `${dir}/${bin}`;
    } catch {
      // not here
    }
  }
  return await Promise.resolve(undefined);
}

/** Which needed binaries are missing. */
export async function missingSlurm(): Promise<string[]> {
  const out: string[] = [];
  for (const b of BINARIES) if (!(await which(b))) out.push(b);
  return out;
}

/**
 * Ports nothing listens on (from /proc/net/tcp*: no network permission needed), picked at
 * random in 20000..39999 so that parallel test runs do not collide.
 */
function freePorts(n: number): number[] {
  const used = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of Deno.readTextFileSync(f).split("\n").slice(1)) {
        const local = line.trim().split(/\s+/)[1];
        if (local) used.add(parseInt(local.split(":")[1], 16));
      }
    } catch {
      // no such table
    }
  }
  const out: number[] = [];
  const r = new Uint32Array(1);
  while (out.length < n) {
    crypto.getRandomValues(r);
    const p = 20000 + (r[0] % 20000);
    if (!used.has(p) && !out.includes(p)) out.push(p);
  }
  return out;
}

async function exec(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(cmd, { args, env, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** Is the process running (not gone, not a zombie waiting for a parent that never reaps)? */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(path).trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Starts munged, slurmctld and slurmd; resolves when the node is idle (or throws). */
export async function startCluster(cpus = 2): Promise<SlurmCluster> {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim-slurm-" });
  const user = (await exec("id", ["-un"])).out.trim();
  const conf = `${dir}/slurm.conf`;
  const env = { SLURM_CONF: conf };
  const stop = async () => {
    for (const f of ["slurmd.pid", "slurmctld.pid", "munged.pid"]) {
      const pid = readPid(`${dir}/${f}`);
      if (pid === undefined || !alive(pid)) continue;
      try {
        Deno.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      if (alive(pid)) Deno.kill(pid, "SIGKILL");
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await Deno.mkdir(`${dir}/state`);
    await Deno.mkdir(`${dir}/spool`);
    const key = new Uint8Array(1024);
    crypto.getRandomValues(key);
    await Deno.writeFile(`${dir}/munge.key`, key, { mode: 0o600 });
    const [ctldPort, slurmdPort] = freePorts(2);
    await Deno.writeTextFile(
      conf,
      [
        "ClusterName=gvtsimtest",
        "SlurmctldHost=localhost(127.0.0.1)",
        `SlurmUser=${user}`,
        `SlurmdUser=${user}`,
        "AuthType=auth/munge",
        "CredType=cred/munge",
        `AuthInfo=socket=${dir}/munge.sock`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${slurmdPort}`,
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmdPidFile=${dir}/slurmd.pid`,
        `SlurmctldLogFile=${dir}/slurmctld.log`,
        `SlurmdLogFile=${dir}/slurmd.log`,
        "ProctrackType=proctrack/pgid",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "SchedulerType=sched/builtin",
        "ReturnToService=2",
        "MpiDefault=none",
        "JobCompType=jobcomp/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
        "PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
        "",
      ].join("\n"),
    );
    const m = await exec(await which("munged") ?? "munged", [
      "--force",
      `--socket=${dir}/munge.sock`,
      `--key-file=${dir}/munge.key`,
      `--pid-file=${dir}/munged.pid`,
      `--log-file=${dir}/munged.log`,
      `--seed-file=${dir}/munged.seed`,
    ]);
    if (m.code !== 0) throw new Error(`munged did not start: ${m.err}`);
    const c = await exec(await which("slurmctld") ?? "slurmctld", ["-f", conf, "-i"], env);
    if (c.code !== 0) throw new Error(`slurmctld did not start: ${c.err}`);
    const d = await exec(await which("slurmd") ?? "slurmd", ["-f", conf, "-N", "localhost"], env);
    if (d.code !== 0) throw new Error(`slurmd did not start: ${d.err}`);
    for (let i = 0;; i++) {
      const s = await exec("sinfo", ["-h", "-o", "%T"], env);
      if (s.out.trim() === "idle") break;
      if (i > 300) {
        throw new Error(
          `the node did not become idle: ${s.out}${s.err}\n${await Deno.readTextFile(
            `${dir}/slurmctld.log`,
          ).catch(() => "")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir,
    env,
    run: (cmd, args, cwd) => exec(cmd, args, env, cwd),
    cancel: async (job) => {
      await exec("scancel", [job], env);
      for (let i = 0; i < 100; i++) {
        if ((await exec("squeue", ["-h", "-j", job], env)).out.trim() === "") return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
  };
}
