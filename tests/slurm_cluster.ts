/**
 * A throw-away single-node Slurm cluster on localhost for tests: its own MUNGE daemon (own
 * key and socket), slurmctld and slurmd, a slurm.conf in a temporary directory, free ports.
 * Nothing outside that directory is touched; {@link SlurmCluster.stop} ends every daemon it
 * started (by pid) and removes the directory. Needs Debian's slurmctld, slurmd, slurm-client
 * and munge (.ci/run installs them). The daemons are children of the test process, in the
 * foreground; a test killed outright leaves them running, as any child would.
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

/** Waits until `path` exists (a daemon's socket), or throws when the daemon exits first. */
async function waitFor(
  path: string,
  d: { name: string; child: Deno.ChildProcess },
  log: string,
): Promise<void> {
  let exited: Deno.CommandStatus | undefined;
  d.child.status.then((s) => exited = s);
  for (let i = 0; i < 300; i++) {
    try {
      Deno.statSync(path);
      return;
    } catch {
      // not yet
    }
    if (exited) {
      throw new Error(
        `${d.name} exited (${exited.code}): ${await Deno.readTextFile(log).catch(() => "")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${d.name} did not create ${path} in 6 s`);
}

/** Starts munged, slurmctld and slurmd; resolves when the node is idle (or throws). */
export async function startCluster(cpus = 2): Promise<SlurmCluster> {
  const dir = await Deno.makeTempDir({ prefix: "gvtsim-slurm-" });
  const user = (await exec("id", ["-un"])).out.trim();
  const conf = `${dir}/slurm.conf`;
  const env = { SLURM_CONF: conf };
  // The daemons run in the foreground as this process's children: stopping one is a signal
  // to a handle we own and a wait for its exit status (no pid files, no zombies).
  const daemons: { name: string; child: Deno.ChildProcess }[] = [];
  const start = async (name: string, args: string[]) => {
    const child = new Deno.Command(await which(name) ?? name, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    daemons.push({ name, child });
  };
  const stop = async () => {
    for (const { child } of daemons.reverse()) {
      try {
        child.kill("SIGTERM");
      } catch {
        // it has exited already
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gone = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), 5000)),
      ]);
      clearTimeout(timer);
      if (!gone) {
        child.kill("SIGKILL");
        await child.status;
      }
    }
    daemons.length = 0;
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
    await start("munged", [
      "--foreground",
      "--force",
      `--socket=${dir}/munge.sock`,
      `--key-file=${dir}/munge.key`,
      `--pid-file=${dir}/munged.pid`,
      `--log-file=${dir}/munged.log`,
      `--seed-file=${dir}/munged.seed`,
    ]);
    await waitFor(`${dir}/munge.sock`, daemons[0], `${dir}/munged.log`);
    await start("slurmctld", ["-D", "-f", conf, "-i"]);
    await start("slurmd", ["-D", "-f", conf, "-N", "localhost"]);
    for (let i = 0;; i++) {
      const s = await exec("sinfo", ["-h", "-o", "%T"], env);
      if (s.out.trim() === "idle") break;
      for (const d of daemons) {
        const st = await Promise.race([d.child.status, Promise.resolve(undefined)]);
        if (st) throw new Error(`${d.name} exited (${st.code}) during set-up; see ${dir}`);
      }
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
