/**
 * `gvtsim fmt`: shipped scenarios are formatted; formatting keeps every comment and the meaning
 * (the checked scenario), is idempotent, undoes whitespace noise; the CLI writes in place
 * atomically, reads `-`, and `--check` / syntax errors change nothing.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatScenario } from "../dsl/format.ts";
import { parseScenarioText } from "../dsl/mod.ts";
import { scenarioLexer } from "../dsl/lexer.ts";
import { gvtsimTask } from "./task_util.ts";

const root = new URL("..", import.meta.url).pathname;
const files = [...Deno.readDirSync(root + "scenarios")].filter((e) => e.name.endsWith(".gvt"))
  .map((e) => "scenarios/" + e.name).sort();

const gvtsim = (args: string[], stdin?: string) => gvtsimTask(args, { stdin });

/** The checked scenario without source locations (what the file means). */
function meaning(text: string, file: string): string {
  const r = parseScenarioText(text, root + file);
  assert.ok(r.scenario, file + "\n" + r.diagnostics.map((d) => d.message).join("\n"));
  return JSON.stringify(r.scenario, (k, v) => (k === "loc" ? undefined : v));
}

function comments(text: string): string[] {
  return (scenarioLexer.tokenize(text).groups.comments ?? []).map((t) => t.image.trimEnd());
}

Deno.test("fmt: every shipped scenario is formatted (gvtsim fmt --check exits 0)", async () => {
  const r = await gvtsim(["fmt", "--check", ...files]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.equal(r.out, "");
});

Deno.test("fmt: keeps comments and meaning, and is idempotent, on every shipped scenario", () => {
  for (const f of files) {
    const text = Deno.readTextFileSync(root + f);
    const squeezed = text.replace(/^[ \t]+/gm, "").replace(/\n\n/g, "\n \n\n\n");
    const once = formatScenario(squeezed, f).text!;
    assert.equal(formatScenario(once, f).text, once, f);
    assert.deepEqual(comments(once), comments(text).map((c) => c.trimEnd()), f);
    assert.equal(meaning(once, f), meaning(text, f), f);
    assert.equal(once, text, `${f}: re-indents back to the shipped layout`);
  }
});

Deno.test("fmt: whitespace noise between tokens formats to the same text", () => {
  const texts = files.map((f) => Deno.readTextFileSync(root + f));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: texts.length - 1 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
      (which, picks) => {
        const text = texts[which];
        // widen existing gaps (not inside comments)
        const inComment = (i: number) =>
          (scenarioLexer.tokenize(text).groups.comments ?? []).some((c) =>
            i >= c.startOffset && i <= (c.endOffset ?? 0)
          );
        const gaps = [...text.matchAll(/ |\n/g)].map((m) => m.index!)
          .filter((i) => !inComment(i));
        const chosen = new Set(picks.map((p) => gaps[p % gaps.length]));
        let noisy = "";
        for (let i = 0; i < text.length; i++) {
          noisy += text[i];
          if (!chosen.has(i)) continue;
          // indentation noise after a line break, more blank lines where there is one already
          noisy += text[i] !== "\n" ? "   " : text[i + 1] === "\n" ? "\n\n  " : "  ";
        }
        return formatScenario(noisy, "x.gvt").text === formatScenario(text, "x.gvt").text;
      },
    ),
    { numRuns: 60, seed: 14 },
  );
});

Deno.test("fmt: spacing, indentation, separators, alignment", () => {
  const messy = [
    "host  skylake{aperture 512MiB;;scheduler gvt{timeslice 1ms;}",
    "      hypervisor kvm }",
    "",
    "",
    "",
    "vm a{type V5_4;run w}   # first",
    "vm long_name[2] {type V5_8 ; run w} # second",
    "workload w {",
    "every 16.7ms{rcs batch{draw uniform( 1 ,3 )};flip",
    "think -2ms",
    "}}",
    "expect fps( a )>=30 # done",
    "expect fps(a) - 2 * share(a) >= -1",
  ].join("\n");
  assert.equal(
    formatScenario(messy, "m.gvt").text,
    [
      "host skylake { aperture 512MiB; scheduler gvt { timeslice 1ms }",
      "  hypervisor kvm }",
      "",
      "vm a            { type V5_4; run w }   # first",
      "vm long_name[2] { type V5_8; run w }   # second",
      "workload w {",
      "  every 16.7ms { rcs batch { draw uniform(1, 3) }; flip",
      "    think -2ms",
      "} }",
      "expect fps(a) >= 30   # done",
      "expect fps(a) - 2 * share(a) >= -1",
      "",
    ].join("\n"),
  );
});

Deno.test("fmt: in place, from stdin, --check, and files with syntax errors are left alone", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const ugly = "vm a {type V5_4; run w}\nworkload w { loop {flip} }\n";
    const good = "vm a { type V5_4; run w }\nworkload w { loop { flip } }\n";
    Deno.writeTextFileSync(`${dir}/u.gvt`, ugly);
    const check = await gvtsim(["fmt", "--check", `${dir}/u.gvt`]);
    assert.equal(check.code, 1);
    assert.match(check.out, /u\.gvt: not formatted/);
    assert.equal(Deno.readTextFileSync(`${dir}/u.gvt`), ugly);

    const r = await gvtsim(["fmt", `${dir}/u.gvt`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(Deno.readTextFileSync(`${dir}/u.gvt`), good);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["u.gvt"], "no temp file");

    const s = await gvtsim(["fmt", "-"], ugly);
    assert.equal(s.code, 0);
    assert.equal(s.out, good);

    const broken = "vm a { type V5_4; run w\nworkload w { flip }\n";
    Deno.writeTextFileSync(`${dir}/b.gvt`, broken);
    const b = await gvtsim(["fmt", `${dir}/b.gvt`]);
    assert.equal(b.code, 2);
    assert.match(b.err, /b\.gvt:2:1: error: .*\n.*\n.*\^/);
    assert.equal(Deno.readTextFileSync(`${dir}/b.gvt`), broken);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
