/**
 * Outputs that never lose data (issue 10), through the real entry points: each attack is one
 * line on stderr, exit 2, and leaves every file as it was; Ctrl-C during a run or a write
 * leaves the previous outputs intact.
 */
import assert from "node:assert/strict";
import { gvtsimTask, oneLine, scratch } from "./task_util.ts";

Deno.test("outputs: every unsafe output is refused before simulating, one line, exit 2, no change", async () => {
  const { dir, files } = await scratch();
  const before = files();
  const cases: [string[], RegExp][] = [
    [["--json", "s.gvt"], /--json s\.gvt: is an input of this run/],
    [["--checkpoint-at", "1ms", "--checkpoint", "./s.gvt"], /--checkpoint \.\/s\.gvt: is an input/],
    [["--json", "o.json", "--trace", "o.json"], /--trace o\.json: the same file as --json o\.json/],
    [
      ["--report", "old.json", "--csv", "old.json"],
      /--report old\.json: the same file as --csv old\.json/,
    ],
    [["--csv", "-"], /--csv -: this output cannot go to stdout/],
    [["--json", "nodir/x.json"], /--json nodir\/x\.json: directory 'nodir' does not exist/],
    [["--trace", "."], /--trace \.: exists and is not a regular file/],
    [["--until", "1000000000s"], /--until.*between 1us and 24h/],
  ];
  const runs = await Promise.all(
    cases.map(([args]) => gvtsimTask(["run", "s.gvt", "-q", ...args], { cwd: dir })),
  );
  runs.forEach((r, i) => {
    const [args, re] = cases[i];
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(oneLine(r.err), re);
    assert.equal(r.out, "", "nothing simulated, nothing printed");
  });
  assert.deepEqual(files(), before, "no file changed, none created");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("outputs: a hard link to the scenario is the scenario", async () => {
  const { dir, files } = await scratch();
  await Deno.link(`${dir}/s.gvt`, `${dir}/alias.json`);
  const before = files();
  const r = await gvtsimTask(["run", "s.gvt", "-q", "--json", "alias.json"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(oneLine(r.err), /alias\.json: is an input of this run \(s\.gvt\)/);
  assert.deepEqual(files(), before);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("outputs: written atomically with the old file's mode; - is stdout for --json", async () => {
  const { dir, files } = await scratch();
  await Deno.chmod(`${dir}/old.json`, 0o640);
  const r = await gvtsimTask(
    ["run", "s.gvt", "-q", "--until", "20ms", "--json", "old.json", "--csv", "v.csv"],
    { cwd: dir },
  );
  assert.ok(r.code <= 1, r.err);
  const after = files();
  assert.equal(JSON.parse(after["old.json"]).simulatedNs, 20e6);
  assert.deepEqual(Object.keys(after).sort(), ["old.json", "s.gvt", "v.csv", "v.series.csv"]);
  assert.equal(Deno.statSync(`${dir}/old.json`).mode! & 0o777, 0o640, "mode kept");
  assert.equal(Deno.statSync(`${dir}/v.csv`).mode! & 0o777, 0o644, "new files are rw-r--r--");
  const piped = await gvtsimTask(["run", "s.gvt", "-q", "--until", "20ms", "--json", "-"], {
    cwd: dir,
  });
  assert.equal(JSON.parse(piped.out).simulatedNs, 20e6);
  await Deno.remove(dir, { recursive: true });
});
