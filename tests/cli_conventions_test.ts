/**
 * The CLI's conventions, through the real entry point (a subprocess with the task's
 * permissions): --version, --json for check and types, `-` for stdin, short usage errors with
 * "did you mean", unknown backends listed, and every option described with examples in --help.
 */
import assert from "node:assert/strict";
import { gvtsimTask } from "./task_util.ts";
import { parseCommandLine } from "../main.ts";

/** `gvtsim ARGS` with the task's permissions, `stdin` fed to it. */
const gvtsim = (args: string[], stdin?: string) => gvtsimTask(args, { stdin });

const SMALL = [
  "vm a { type V5_4; run w }",
  "workload w { at 60fps { rcs batch { draw 4 }; flip } }",
  "timeline { run 100ms }",
  "expect fps(a) >= 30",
  "",
].join("\n");

Deno.test("cli: --version and the version command", async () => {
  for (const args of [["--version"], ["version"]]) {
    const r = await gvtsim(args);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^gvtsim \d+\.\d+\.\d+\n$/);
  }
});

Deno.test("cli: check --json gives located diagnostics with hints; exit codes as in text mode", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(
      `${dir}/bad.gvt`,
      SMALL.replace("run w", "run ww").replace(">= 30", ">= 30\nexpect latency(a, p99) < 5"),
    );
    const r = await gvtsim(["check", "--json", `${dir}/bad.gvt`, "scenarios/demo.gvt"]);
    assert.equal(r.code, 2);
    assert.equal(r.err, "");
    const j = JSON.parse(r.out);
    assert.equal(j.schema, "gvtsim.check/1");
    assert.equal(j.ok, false);
    assert.deepEqual(j.files, [
      { file: `${dir}/bad.gvt`, ok: false },
      { file: "scenarios/demo.gvt", ok: true },
    ]);
    assert.deepEqual(j.diagnostics[0], {
      file: `${dir}/bad.gvt`,
      line: 1,
      column: 23,
      length: 2,
      severity: "error",
      message: "unknown workload 'ww'; expected one of: w (did you mean 'w'?)",
    });
    assert.equal(j.diagnostics[1].severity, "warning");
    assert.equal(j.diagnostics[1].hint, "write the unit, e.g. '5ms' or '5us'");
    const ok = await gvtsim(["check", "--json", "scenarios/demo.gvt"]);
    assert.equal(ok.code, 0);
    assert.equal(JSON.parse(ok.out).ok, true);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cli: types --json", async () => {
  const r = await gvtsim(["types", "--json", "--aperture", "1GiB"]);
  assert.equal(r.code, 0, r.err);
  const types = JSON.parse(r.out);
  const v54 = types.find((t: { type: string }) => t.type === "V5_4");
  assert.equal(v54.mdev, "i915-GVTg_V5_4");
  assert.equal(v54.aperture, 128 * 1024 ** 2);
  assert.deepEqual(v54.available, { [String(1024 ** 3)]: 5 });
});

Deno.test("cli: - reads the scenario from stdin (run, check)", async () => {
  const run = await gvtsim(["run", "-", "--json", "-"], SMALL);
  assert.equal(run.code, 0, run.err);
  const res = JSON.parse(run.out);
  assert.equal(res.scenario, "stdin");
  assert.equal(res.vms[0].name, "a");
  assert.equal(res.expectations[0].pass, true);
  const check = await gvtsim(["check", "-"], SMALL.replace("run w", "run x"));
  assert.equal(check.code, 2);
  assert.match(check.err, /^-:1:23: error: unknown workload 'x'/);
});

Deno.test("cli: usage errors are short: the problem, a suggestion, that command's usage", async () => {
  const r = await gvtsim(["run", "--untill", "5s", "scenarios/demo.gvt"]);
  assert.equal(r.code, 2);
  const lines = r.err.trimEnd().split("\n");
  assert.equal(lines.length, 3, r.err);
  assert.match(lines[0], /^gvtsim run: .*'--untill'.*\(did you mean '--until'\?\)$/);
  assert.match(lines[1], /^Usage: gvtsim run /);
  assert.doesNotMatch(r.err, /gvtsim check|gvtsim compare/);
  assert.equal(lines[2], "Run 'gvtsim run --help' for the options and examples.");

  const c = await gvtsim(["chek", "scenarios/demo.gvt"]);
  assert.equal(c.code, 2);
  assert.match(
    c.err,
    /^gvtsim: unknown command 'chek' \(did you mean 'check'\?\)\ncommands: run, check,/,
  );
  assert.ok(c.err.split("\n").length <= 4);

  const bad = await gvtsim(["run", "scenarios/demo.gvt", "--seed", "x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^gvtsim run: '--seed': Expected a valid integer, but got "x"\.\n$/);

  const v = await gvtsim(["check"]);
  assert.equal(v.code, 2);
  assert.match(v.err, /^gvtsim check: .*\nUsage: gvtsim check .*SCENARIO/);
});

Deno.test("cli: an unknown backend lists the built-in ones", async () => {
  const r = await gvtsim(["run", "scenarios/demo.gvt", "--hypervisor", "kvmm", "--until", "10ms"]);
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /unknown hypervisor backend 'kvmm'; built-in backends: acrn, kvm, xen \(did you mean 'kvm'\?\)/,
  );
  assert.doesNotMatch(r.err, /Module not found/);
});

/**
 * `gvtsim ARGS` parsed in this process exactly as the CLI parses them (help, version, usage
 * errors; nothing runs): the exit code and what it wrote, as a pipe would get it (no colours,
 * no wrapping). One subprocess per test below shows it is what the CLI prints.
 */
function parsed(args: string[]): { code: number; out: string; err: string } {
  let out = "", err = "";
  const r = parseCommandLine(args, {
    stdout: (line) => void (out += line + "\n"),
    stderr: (text) => void (err += text + "\n"),
    colors: false,
    maxWidth: Number.MAX_SAFE_INTEGER,
  });
  return { code: "exit" in r ? r.exit : -1, out, err };
}

/** Every command (and subcommand) the top-level usage lists, but help, version, completions. */
function allCommands(): string[][] {
  const top = parsed(["--help"]);
  const out: string[][] = [];
  const usage = top.out.slice(top.out.indexOf("Usage:")).split("\n\n")[0];
  for (const line of usage.split("\n")) {
    const m = /^(?:Usage:| +)\s*gvtsim ((?:[a-z]+ )*[a-z]+)(?: \((\w+) )?/.exec(line);
    if (!m || ["help", "version", "completions"].includes(m[1])) continue;
    const words = m[1].split(" ");
    out.push(words);
    if (m[2]) out.push([...words, m[2]]); // `gvtsim sweep (merge ... | ...)`
  }
  return out;
}

Deno.test("cli: every command's --help describes every option and shows examples", async () => {
  const commands = [[], ...allCommands()]; // [] is the top-level help
  for (
    const c of ["run", "check", "scan", "sweep", "sweep merge", "report", "lsp", "plugin test"]
  ) {
    assert.ok(commands.some((x) => x.join(" ") === c), `${c} in ${commands.join("; ")}`);
  }
  const [top, sub] = await Promise.all([gvtsim(["--help"]), gvtsim(["sweep", "merge", "--help"])]);
  assert.deepEqual(parsed(["--help"]), top, "the CLI prints this help");
  assert.deepEqual(parsed(["sweep", "merge", "--help"]), sub, "the CLI prints this help");
  for (const c of commands) {
    const r = parsed([...c, "--help"]);
    assert.equal(r.code, 0, `${c.join(" ")}: ${r.err}`);
    assert.match(r.out, /Examples:\n {2}(gvtsim|deno task|echo|cat) /, c.join(" "));
    assert.equal(r.out.split("Examples:").length, 2, `${c.join(" ")}: one Examples section`);
    assert.match(r.out, /\nExit codes: 0 ok, 1 /, c.join(" "));
    // option and argument lines: a term, two or more spaces, a description
    const terms = r.out.split("\n").filter((l) => /^ {2}(-|[A-Z][A-Z|,.-]*\b)/.test(l));
    for (const l of terms) {
      if (/^ {2}(-h, )?--help/.test(l)) continue;
      assert.match(l, /^ {2}\S.*?\S {2,}\S/, `${c.join(" ")}: no description: '${l}'`);
    }
  }
});

Deno.test("cli: a usage error of any command shows that command's usage", async () => {
  const sub = await gvtsim(["plugin", "test", "--no-such-option"]);
  assert.deepEqual(parsed(["plugin", "test", "--no-such-option"]), sub, "the CLI prints this");
  for (const c of allCommands()) {
    const r = parsed([...c, "--no-such-option"]);
    assert.equal(r.code, 2, c.join(" "));
    assert.match(r.err, new RegExp(`^gvtsim ${c[0]}: `), `${c.join(" ")}: ${r.err}`);
    assert.match(r.err, /\nUsage: gvtsim /, c.join(" "));
  }
});
