import assert from "node:assert/strict";
import { reportHtml, reportPage, RESULTS_SCRIPT_ID, scriptJson } from "../cli/report.ts";
import {
  CHARTS,
  latencyChart,
  ownership,
  queueChart,
  shareChart,
  timelineChart,
  trapsChart,
} from "../cli/report_client/charts.ts";
import { esc, grouped, ticks, timeUnit } from "../cli/report_client/svg.ts";
import { vmColor } from "../cli/report_client/palette.ts";
import type { Results } from "../core/metrics/results.ts";
import { demoResults } from "./fixtures/results_demo.ts";

const CHROMIUM = "/usr/bin/chromium";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], timeoutMs: number) {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { DEBIAN_FRONTEND: "noninteractive" },
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return {
    ok: out.success,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Debian's chromium, installed with apt-get when missing and we are root. */
async function ensureChromium(): Promise<{ path?: string; reason?: string }> {
  if (exists(CHROMIUM)) return { path: CHROMIUM };
  let uid = "";
  try {
    uid = (await run("id", ["-u"], 5_000)).stdout.trim();
  } catch (e) {
    return { reason: `cannot tell the user id: ${(e as Error).message}` };
  }
  if (uid !== "0") return { reason: `${CHROMIUM} is missing and we are not root to install it` };
  try {
    let r = await run("apt-get", ["install", "-y", "chromium"], 240_000);
    if (!r.ok) {
      await run("apt-get", ["update"], 120_000);
      r = await run("apt-get", ["install", "-y", "chromium"], 240_000);
    }
    if (!exists(CHROMIUM)) return { reason: `apt-get install chromium failed: ${r.stderr.trim()}` };
  } catch (e) {
    return { reason: `apt-get install chromium failed: ${(e as Error).message}` };
  }
  return { path: CHROMIUM };
}

const envGranted = Deno.permissions.querySync({ name: "env" }).state === "granted";
const runGranted = Deno.permissions.querySync({ name: "run" }).state === "granted";
const chromium = runGranted ? await ensureChromium() : { reason: "needs --allow-run" };
if (!chromium.path) {
  console.warn(`report_test: headless Chromium check skipped: ${chromium.reason}`);
}

/** The report of the fixture, built once (esbuild needs --allow-env/--allow-run). */
let built: Promise<string> | undefined;
function fixtureReport(): Promise<string> {
  assert.ok(
    envGranted && runGranted,
    "bundling the report with esbuild needs --allow-env and --allow-run (deno test flags)",
  );
  return built ??= reportHtml(demoResults());
}

Deno.test("report: svg helpers", () => {
  assert.deepEqual(ticks(0.93, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(ticks(43.5, 5), [0, 10, 20, 30, 40, 50]);
  assert.deepEqual(ticks(3, 5, true), [0, 1, 2, 3]);
  assert.deepEqual(timeUnit(4e9), { name: "s", ns: 1e9 });
  assert.deepEqual(timeUnit(2.5e6), { name: "ms", ns: 1e6 });
  assert.equal(esc(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  assert.equal(grouped(1234567), "1,234,567");
  assert.equal(grouped(-1000), "-1,000");
  const names = ["a", "b"];
  assert.notEqual(vmColor(names, "a"), vmColor(names, "b"));
  assert.equal(vmColor(names, "idle"), "#c4c9d1");
});

Deno.test("report: ownership intervals merge repeats and respect a capped switch list", () => {
  const r = demoResults();
  r.simulatedNs = 100;
  r.switches = [{ t: 0, to: "desktop" }, { t: 10, to: "desktop" }, { t: 30, to: "cad" }, {
    t: 60,
    to: "idle",
  }];
  r.scheduler.switches = 4;
  assert.deepEqual(ownership(r), {
    intervals: [
      { vm: "desktop", from: 0, to: 30 },
      { vm: "cad", from: 30, to: 60 },
      { vm: "idle", from: 60, to: 100 },
    ],
    endNs: 100,
    capped: false,
  });
  r.scheduler.switches = 900;
  const capped = ownership(r);
  assert.equal(capped.capped, true);
  assert.equal(capped.endNs, 60);
  assert.deepEqual(capped.intervals.map((i) => i.vm), ["desktop", "cad"]);
  assert.match(timelineChart(r), /Showing the first 4 of 900 switches/);
});

Deno.test("report: each chart draws marks for every VM of the fixture", () => {
  const r = demoResults();
  const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;
  const share = shareChart(r);
  assert.equal(count(share, /<path class="series"/g), 4);
  for (const vm of r.vms) assert.ok(share.includes(`data-vm="${vm.name}"`));
  assert.equal(count(queueChart(r), /<path class="area"/g), 4);
  assert.equal(count(latencyChart(r), /<rect class="bar"/g), 4 * 4);
  assert.equal(count(trapsChart(r), /<rect class="bar stacked"/g), 4 * 4);
  const timeline = timelineChart(r);
  assert.equal(count(timeline, /<rect class="own"/g), ownership(r).intervals.length);
  assert.ok(ownership(r).intervals.length > 100);
  for (const c of CHARTS) assert.ok(!c.draw(r).includes("no-data"), c.id);
});

Deno.test("report: charts of an empty run say so instead of failing", () => {
  const r: Results = demoResults();
  r.series = { periodNs: 1, t: [], share: {}, queue: {} };
  r.switches = [];
  r.scheduler.switches = 0;
  for (const vm of r.vms) {
    vm.latency = { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    vm.traps = {};
  }
  for (const c of CHARTS) {
    const svg = c.draw(r);
    assert.match(svg, /^<svg class="chart-svg"/, c.id);
    assert.match(svg, /class="no-data"/, c.id);
  }
});

Deno.test("report: embedded JSON cannot close its script element", () => {
  const s = scriptJson({ text: "</script><script>alert(1)</script>\u2028" });
  assert.ok(!s.includes("<"));
  assert.ok(!s.includes("\u2028"));
  assert.deepEqual(JSON.parse(s), { text: "</script><script>alert(1)</script>\u2028" });
  const page = reportPage(demoResults(), "var x = '</script>';");
  assert.equal(page.match(/<\/script>/g)?.length, 2);
});

Deno.test("report: one self-contained page with the results embedded", async () => {
  const html = await fixtureReport();
  const results = demoResults();
  assert.ok(!/https?:\/\//i.test(html), "no network URL in the report");
  assert.ok(!/\bsrc=|\bhref=|@import|url\(/i.test(html), "no external resource references");
  assert.match(html, /^<!DOCTYPE html>/);
  const m = html.match(
    new RegExp(`<script type="application/json" id="${RESULTS_SCRIPT_ID}">(.*?)</script>`, "s"),
  );
  assert.ok(m, "results script present");
  assert.deepEqual(JSON.parse(m[1]), JSON.parse(JSON.stringify(results)));
  // Summary, VM table and expectations are static HTML.
  for (
    const s of ["four-tenants", "scenarios/four_tenants.gvt", "seed 42", "weighted-rr", "4.00s"]
  ) {
    assert.ok(html.includes(s), s);
  }
  for (const vm of results.vms) assert.ok(html.includes(`</span>${vm.name}</td>`), vm.name);
  assert.equal(html.match(/<span class="badge fail">fail<\/span>/g)?.length, 2);
  assert.equal(html.match(/<span class="badge pass">pass<\/span>/g)?.length, 4);
  assert.ok(html.includes("scenarios/four_tenants.gvt:44:3"));
  assert.ok(
    html.includes("expect native_pct(desktop) &gt;= 80 &lt;script&gt;&amp;&lt;/script&gt;"),
  );
  assert.equal(html.match(/<script/g)?.length, 2, "only the data and the bundle");
  for (const c of CHARTS) assert.ok(html.includes(`data-chart="${c.id}"`), c.id);
  assert.equal(await reportHtml(demoResults()), html, "deterministic");
});

Deno.test({
  name: "report: headless Chromium renders every chart",
  ignore: !chromium.path,
  async fn() {
    const html = await fixtureReport();
    const dir = await Deno.makeTempDir({ prefix: "gvtsim_report_" });
    try {
      const file = `${dir}/report.html`;
      await Deno.writeTextFile(file, html);
      const r = await run(chromium.path!, [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${dir}/profile`,
        "--virtual-time-budget=5000",
        "--dump-dom",
        `file://${file}`,
      ], 15_000);
      // The page as rendered, without the scripts (whose text holds SVG markup templates).
      const dom = r.stdout.replace(/<script[\s\S]*?<\/script>/g, "");
      assert.ok(r.ok, `chromium failed: ${r.stderr.slice(-2000)}`);
      assert.match(dom, new RegExp(`data-charts-rendered="${CHARTS.length}"`));
      assert.equal(dom.match(/<svg class="chart-svg"/g)?.length, CHARTS.length);
      // Each chart's container holds its marks.
      const section = (id: string) => {
        const start = dom.indexOf(`data-chart="${id}"`);
        assert.ok(start >= 0, id);
        const end = dom.indexOf("</figure>", start);
        return dom.slice(start, end);
      };
      const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;
      const share = section("share");
      assert.equal(count(share, /<path class="series"/g), 4);
      const d = share.match(/<path class="series"[^>]* d="([^"]+)"/);
      assert.ok(d && d[1].split("L").length >= 400, "a line per VM through every sample");
      assert.ok(count(section("timeline"), /<rect class="own"/g) > 100);
      assert.equal(count(section("latency"), /<rect class="bar"/g), 16);
      assert.equal(count(section("traps"), /<rect class="bar stacked"/g), 16);
      assert.equal(count(section("queue"), /<path class="area"/g), 4);
      for (const c of CHARTS) {
        const s = section(c.id);
        assert.ok(!s.includes("no-data"), c.id);
        assert.match(s, /<ul class="legend">/, c.id);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the committed report bundle is what esbuild builds from cli/report_client/", async () => {
  const { bundleReportClient } = await import("../cli/report.ts");
  const { bundleModule } = await import("../cli/report_bundle.ts");
  const committed = await Deno.readTextFile(
    new URL("../cli/report_client_bundle.ts", import.meta.url),
  );
  assert.equal(
    committed,
    bundleModule(await bundleReportClient()),
    "run `deno task bundle-report`",
  );
});
