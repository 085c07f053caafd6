/**
 * Fault injection from the command line (issue 10): a rule that could never fire is refused with
 * a located error; every injected fault shows in the results with op and VM, a `throw` on an op
 * the backend does not implement records the error it stands for; a checkpoint of a `--fault`
 * run restores and continues exactly.
 */
import assert from "node:assert/strict";
import { gvtsimTask, scratch } from "./task_util.ts";

Deno.test("faults: rules on ops that can never fire are located errors, exit 2", async () => {
  const { dir } = await scratch();
  const scenario = await Deno.readTextFile(`${dir}/s.gvt`);
  await Deno.writeTextFile(
    `${dir}/late.gvt`,
    scenario.replace(/hypervisor kvm/, "hypervisor kvm { fault hostInit error at 1s }"),
  );
  const [exit, save, init, late] = await Promise.all([
    gvtsimTask(["run", "s.gvt", "-q", "--fault", "hostExit error"], { cwd: dir }),
    gvtsimTask(["run", "s.gvt", "-q", "--fault", "save throw vm light"], { cwd: dir }),
    gvtsimTask(["run", "s.gvt", "-q", "--fault", "hostInit error"], { cwd: dir }),
    gvtsimTask(["check", "late.gvt"], { cwd: dir }),
  ]);
  for (const r of [exit, save, init, late]) {
    assert.equal(r.code, 2, r.err);
    assert.equal(r.out, "");
  }
  assert.match(
    exit.err,
    /\(--fault\):1:\d+: error: a fault on 'hostExit' could never fire: the op is not called through the gate during a run/,
  );
  assert.match(save.err, /a fault on 'save' could never fire/);
  assert.match(
    init.err,
    /\(--fault\):1:\d+: error: a fault on 'hostInit' fires only from the hypervisor block/,
  );
  assert.match(
    late.err,
    /late\.gvt:\d+:\d+: error: a fault on 'hostInit' fires only from the hypervisor block/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("faults: every injected fault is in the results with op and VM; a throw always records an error", async () => {
  const { dir } = await scratch();
  const r = await gvtsimTask(
    [
      "run",
      "s.gvt",
      "-q",
      "--until",
      "50ms",
      "--json",
      "r.json",
      "--fault",
      "vgpuDescheduled throw", // kvm does not implement this optional op
      "--fault",
      "guestMmioWrite error after 10 calls for 2 calls vm heavy",
    ],
    { cwd: dir },
  );
  assert.ok(r.code <= 1, r.err);
  const hv = JSON.parse(await Deno.readTextFile(`${dir}/r.json`)).hypervisor;
  const faults = hv.faults as { op: string; vm: string; action: string; rule: string }[];
  assert.equal(faults.length, hv.faultsInjected);
  const desched = faults.filter((f) => f.op === "vgpuDescheduled" && f.action === "throw");
  assert.ok(desched.length > 0 && desched.every((f) => f.vm === "heavy" || f.vm === "light"));
  assert.equal(faults.filter((f) => f.op === "guestMmioWrite" && f.vm === "heavy").length, 2);
  assert.ok(faults.every((f) => /\(--fault\):\d+$/.test(f.rule)));
  const thrown = (hv.errors as { op: string; vm: string; message: string }[])
    .filter((e) => e.op === "mapGfnToMfn");
  assert.equal(thrown.length, faults.filter((f) => f.op === "mapGfnToMfn").length);
  assert.ok(
    thrown.every((e) => e.vm === "light" && /injected fault: mapGfnToMfn threw/.test(e.message)),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("faults: a checkpoint of a --fault run restores and continues exactly", async () => {
  const { dir } = await scratch();
  const fault = ["--fault", "guestMmioWrite error after 10 calls for 5 calls vm heavy"];
  const ck = await gvtsimTask(
    ["run", "s.gvt", "-q", "--until", "60ms", "--json", "a.json", ...fault]
      .concat(["--checkpoint-at", "25ms", "--checkpoint", "c.ckpt"]),
    { cwd: dir },
  );
  assert.ok(ck.code <= 1, ck.err);
  const restored = await gvtsimTask(["run", "--restore", "c.ckpt", "-q", "--json", "b.json"], {
    cwd: dir,
  });
  assert.ok(restored.code <= 1, restored.err);
  const a = await Deno.readTextFile(`${dir}/a.json`);
  assert.ok(JSON.parse(a).hypervisor.faultsInjected > 0, "the fault fired");
  assert.equal(await Deno.readTextFile(`${dir}/b.json`), a);
  await Deno.remove(dir, { recursive: true });
});
