/**
 * The run summary and report of a multi-host scenario describe every host's GPU and
 * scheduler, through `gvtsim run` (a subprocess); a one-host run keeps its single lines.
 */
import assert from "node:assert/strict";
import { gvtsim } from "./cli_util.ts";

const TWO_HOSTS = `scenario two
host a skylake { hypervisor kvm }
host b skylake { hypervisor kvm }
vm x { host a; type V5_4; run w }
vm y { host b; type V5_4; run w }
vm z { host b; type V5_4; run w }
workload w { at 60fps { rcs batch { draw 50 }; wait completion; flip } }
timeline { run 300ms }
`;

Deno.test("summary: several hosts get a gpu and a scheduler line each, the report a row each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/two.gvt`, TWO_HOSTS);
    const r = await gvtsim(
      "run",
      `${dir}/two.gvt`,
      "--json",
      `${dir}/r.json`,
      "--report",
      `${dir}/r.html`,
    );
    assert.equal(r.code, 0, r.out + r.err);
    const res = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
    for (const h of res.hosts) {
      const util = Object.entries(h.engines as Record<string, { utilization: number }>)
        .map(([n, e]) => `${n} ${(e.utilization * 100).toFixed(1)}%`).join(", ");
      assert.ok(h.commands > 0 && h.msis > 0, `host ${h.name} ran its own guests' work`);
      assert.ok(
        r.out.includes(
          `gpu (host ${h.name}): ${util}; ${h.commands} commands executed, ${h.msis} interrupts (MSI)\n`,
        ),
        r.out,
      );
      assert.match(
        r.out,
        new RegExp(`^scheduler \\(host ${h.name}\\): ${h.switches} vGPU switches`, "m"),
      );
    }
    const [a, b] = res.hosts;
    assert.notEqual(a.commands, b.commands, "two guests on b, one on a");
    assert.ok(b.switches > a.switches, "b's scheduler switches between its two guests");
    const frames = res.vms.reduce((n: number, v: { frames: number }) => n + v.frames, 0);
    assert.match(r.out, new RegExp(`^guests: ${frames} frames flipped on all hosts$`, "m"));
    const html = await Deno.readTextFile(`${dir}/r.html`);
    assert.match(html, /<th>vGPU switches<\/th>/);
    for (const h of res.hosts) {
      assert.match(html, new RegExp(`<td class="l">${h.name}</td>.*?<td>${h.switches}</td>`));
    }
    assert.match(html, /Scheduler \(host a\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summary: one host keeps one gpu line with the guest frames and one scheduler line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const one = TWO_HOSTS.replace(
      /host a skylake[^\n]*\nhost b[^\n]*\n/,
      "host skylake { hypervisor kvm }\n",
    )
      .replaceAll(/host [ab]; /g, "");
    await Deno.writeTextFile(`${dir}/one.gvt`, one);
    const r = await gvtsim("run", `${dir}/one.gvt`, "--json", `${dir}/r.json`);
    assert.equal(r.code, 0, r.out + r.err);
    const res = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
    assert.equal(res.hosts, undefined);
    const frames = res.vms.reduce((n: number, v: { frames: number }) => n + v.frames, 0);
    assert.match(
      r.out,
      new RegExp(
        `^gpu: rcs [\\d.]+%, bcs [\\d.]+%, vcs [\\d.]+%, vecs [\\d.]+%; ${res.gpu.counters.commands} ` +
          `commands executed, ${res.gpu.counters.msis} interrupts \\(MSI\\), ${frames} guest frames flipped$`,
        "m",
      ),
    );
    assert.match(r.out, new RegExp(`^scheduler: ${res.scheduler.switches} vGPU switches, `, "m"));
    assert.doesNotMatch(r.out, /\(host |^guests:|^host /m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
