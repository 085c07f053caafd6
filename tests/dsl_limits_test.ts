/**
 * Bounded inputs (issue 10) through `gvtsim check`, `run` and the REPL: what is not a scenario
 * is not read, nothing of another file is echoed, terminal control characters are shown
 * escaped, sizes and nesting have documented limits reported as located errors, and what the
 * checker accepts runs.
 */
import assert from "node:assert/strict";
import { gvtsimTask } from "./task_util.ts";
import { MAX_FILE_BYTES, MAX_NESTING, parseScenarioText } from "../dsl/mod.ts";

async function dir(files: Record<string, string>): Promise<string> {
  const d = await Deno.makeTempDir();
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${d}/${name}`, text);
  return d;
}

/** The first line of the output and the error count line, exit 2, nothing else said. */
function refused(r: { code: number; out: string; err: string }, first: RegExp): void {
  assert.equal(r.code, 2, r.err);
  assert.match(r.err.split("\n")[0], first);
  assert.doesNotMatch(r.err, /internal error|\n {4}at /);
}

Deno.test("dsl limits: include reads only regular .gvt files and never echoes another file", async () => {
  const d = await dir({
    "passwd.gvt": 'include "/etc/passwd"\n',
    "zero.gvt": 'include "/dev/zero"\n',
    "link.gvt": 'include "z.gvt"\n',
    "folder.gvt": 'include "sub.gvt"\n',
  });
  await Deno.symlink("/dev/zero", `${d}/z.gvt`);
  await Deno.mkdir(`${d}/sub.gvt`);
  const [passwd, zero, link, folder] = await Promise.all(
    ["passwd", "zero", "link", "folder"].map((f) => gvtsimTask(["check", `${f}.gvt`], { cwd: d })),
  );
  refused(
    passwd,
    /^passwd\.gvt:1:9: error: cannot read include file '\/etc\/passwd' .*only \.gvt scenario files can be included$/,
  );
  assert.doesNotMatch(passwd.err, /root:/, "nothing of /etc/passwd is shown");
  refused(zero, /^zero\.gvt:1:9: error: .*only \.gvt scenario files can be included$/);
  refused(link, /^link\.gvt:1:9: error: cannot read include file 'z\.gvt' .*: not a regular file$/);
  refused(folder, /^folder\.gvt:1:9: error: .*: not a regular file$/);
  await Deno.remove(d, { recursive: true });
});

Deno.test("dsl limits: control characters in a scenario reach the terminal escaped", async () => {
  const d = await dir({ "esc.gvt": 'scenario x\nbogus "\x1b]0;owned\x07\x1b[2J" \u202e\n' });
  const r = await gvtsimTask(["check", "esc.gvt"], { cwd: d });
  refused(r, /^esc\.gvt:2:1: error: unexpected 'bogus'/);
  // deno-lint-ignore no-control-regex -- looking for raw control characters
  assert.doesNotMatch(r.err, /[\x00-\x08\x0b-\x1f\x7f\u202e]/, "no raw control character");
  assert.match(r.err, /\\x1b\]0;owned\\x07\\x1b\[2J/);
  assert.match(r.err, /\\u\{202e\}/);
  const repl = await gvtsimTask(["repl"], { cwd: d, stdin: "\x1b[2Jbogus\n" });
  assert.equal(repl.code, 2);
  assert.match(repl.out, /error: unknown command '\\x1b\[2Jbogus'/);
  await Deno.remove(d, { recursive: true });
});

Deno.test("dsl limits: size and nesting limits are located errors, found before parsing", async () => {
  const valid = await Deno.readTextFile(new URL("../scenarios/demo.gvt", import.meta.url));
  const big = valid + "# padding\n".repeat(Math.ceil(MAX_FILE_BYTES / 10));
  const d = await dir({
    "big.gvt": big,
    "inc.gvt": 'include "big.gvt"\n',
    "deep.gvt": "expect " + "(".repeat(800) + "1\n",
    "minus.gvt": "workload w { flip }\nexpect " + "-".repeat(5000) + "1 > 0\n",
    "ops.gvt": "expect " + Array(2000).fill("1").join(" + ") + " > 0\n",
  });
  await Deno.writeFile(`${d}/junk.gvt`, new Uint8Array(8 * 1024 * 1024).fill(0x28)); // "((((..."
  const [bigR, inc, junk, deep, minus, ops] = await Promise.all(
    ["big", "inc", "junk", "deep", "minus", "ops"].map((f) =>
      gvtsimTask(["check", `${f}.gvt`], { cwd: d })
    ),
  );
  refused(
    bigR,
    /^big\.gvt:1:1: error: cannot read 'big\.gvt': larger than 256 KiB, the limit of a scenario file$/,
  );
  refused(inc, /^inc\.gvt:1:9: error: cannot read include file 'big\.gvt' .*larger than 256 KiB/);
  refused(junk, /^junk\.gvt:1:1: error: cannot read 'junk\.gvt': larger than 256 KiB/);
  refused(
    deep,
    new RegExp(`^deep\\.gvt:1:${8 + MAX_NESTING}: error: nesting deeper than 64 levels$`),
  );
  refused(minus, /^minus\.gvt:2:72: error: nesting deeper than 64 levels$/);
  refused(ops, /^ops\.gvt:1:\d+: error: more than 64 operators in one statement$/);
  for (const r of [deep, minus, ops]) assert.ok(r.err.length < 2000, "the excerpt is a window");
  await Deno.remove(d, { recursive: true });
});

Deno.test("dsl limits: whether deep input is accepted does not depend on warm-up", () => {
  // The same input, fresh and after many parses: the limit is a count, not the stack.
  const text = "workload w { flip }\nexpect " + "(".repeat(MAX_NESTING) + "1 > 0\n";
  const first = parseScenarioText(text, "x.gvt").diagnostics.map((d) => d.message);
  for (let i = 0; i < 200; i++) parseScenarioText("expect (((1))) > 0\n", "w.gvt");
  const again = parseScenarioText(text, "x.gvt").diagnostics.map((d) => d.message);
  assert.deepEqual(again, first);
  assert.ok(first.every((m) => !m.includes("internal")));
});

Deno.test("dsl limits: memory 1024GiB (the documented maximum) runs; past it is a located error", async () => {
  const d = await dir({
    "huge.gvt": "host { hypervisor kvm }\nvm a { type V5_4; run w; memory 1024GiB }\n" +
      "vm b { type V5_4; run w; memory 1024GiB }\n" +
      "workload w { loop { rcs batch { draw 40 }; wait completion; flip } }\ntimeline { run 300ms }\n",
    "over.gvt": "host { hypervisor kvm }\nvm a { type V5_4; run w; memory 2048GiB }\n" +
      "workload w { flip }\n",
  });
  const [run, over] = await Promise.all([
    gvtsimTask(["run", "huge.gvt", "--json", "out.json"], { cwd: d }),
    gvtsimTask(["check", "over.gvt"], { cwd: d }),
  ]);
  assert.equal(run.code, 0, run.err);
  const results = JSON.parse(await Deno.readTextFile(`${d}/out.json`));
  assert.equal(results.vms.length, 2);
  assert.ok(results.vms.every((v: { completed: number }) => v.completed > 0), "both VMs worked");
  refused(
    over,
    /^over\.gvt:2:33: error: value out of range: memory 2048GiB must be between 64 MiB and 1024 GiB$/,
  );
  await Deno.remove(d, { recursive: true });
});
