/**
 * The layers of docs/ARCHITECTURE.md only call down: every import inside core/ is checked
 * against the layers its module may use. In particular the guest model talks only to its
 * vGPU (through the MPT interface and the hardware's register facts), never to the mediator,
 * and the mediator knows no guest, workload or native driver.
 */
import assert from "node:assert/strict";

const CORE = new URL("../core/", import.meta.url);

/** Leaf modules at core/'s root every layer may use (plain data, units, name suggestions). */
const LEAVES = ["scenario.ts", "units.ts", "vgpu_types.ts", "suggest.ts"];
/** Recorders in core/metrics/ that know no layer above them: the models may feed them. */
const METRIC_LEAVES = [
  "metrics/trace.ts",
  "metrics/samples.ts",
  "metrics/history.ts",
  "metrics/histogram.ts",
];
/** What each layer (directory of core/) may import besides itself and the leaves. */
const ALLOWED: Record<string, string[]> = {
  sim: [],
  hw: ["sim", "cmd"],
  cmd: ["hw"],
  workload: ["sim", "cmd"],
  native: ["sim", "hw", "cmd", "workload"],
  mpt: ["sim", "hw"],
  guest: ["sim", "hw", "cmd", "mpt", "workload", ...METRIC_LEAVES],
  gvt: ["sim", "hw", "cmd", "mpt", ...METRIC_LEAVES],
};
/** Named exceptions, each with its reason. */
const EXCEPTIONS: Record<string, string> = {
  // The MPT conformance kit plays a guest against a backend: it needs guest memory.
  "mpt/kit_rig.ts -> guest/memory.ts": "the conformance kit is a test harness",
};

async function* files(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* files(u);
    else if (e.name.endsWith(".ts")) yield u;
  }
}

/** `core/`-relative path of a URL, e.g. "gvt/vgpu.ts". */
function rel(u: URL): string {
  return u.pathname.slice(CORE.pathname.length);
}

Deno.test("layers: imports inside core/ only go down (docs/ARCHITECTURE.md)", async () => {
  const offenders: string[] = [];
  let checked = 0;
  for await (const f of files(CORE)) {
    const from = rel(f);
    const layer = from.includes("/") ? from.split("/")[0] : null;
    if (layer === null || !(layer in ALLOWED)) continue; // root assembly modules, metrics
    const text = await Deno.readTextFile(f);
    for (const m of text.matchAll(/(?:from|import\()\s*"(\.[^"]+)"/g)) {
      const to = rel(new URL(m[1], f));
      checked++;
      if (to.startsWith("../")) continue; // outside core/ (none expected)
      const target = to.includes("/") ? to.split("/")[0] : to;
      const ok = target === layer || LEAVES.includes(to) ||
        ALLOWED[layer].includes(target) || ALLOWED[layer].includes(to) ||
        `${from} -> ${to}` in EXCEPTIONS;
      if (!ok) offenders.push(`${from} imports ${to}`);
    }
  }
  assert.ok(checked > 200, `${checked} imports checked`);
  assert.deepEqual(offenders, []);
});

Deno.test("layers: the guest model never imports the mediator", async () => {
  for await (const f of files(new URL("guest/", CORE))) {
    const text = await Deno.readTextFile(f);
    assert.doesNotMatch(text, /from "\.\.\/gvt\//, rel(f));
  }
});
