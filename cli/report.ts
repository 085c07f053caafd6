/**
 * `run --report PATH`: one self-contained HTML file for a run. The summary, VM table,
 * expectations and counters are static HTML; the charts are SVG drawn on load by the client
 * code in `cli/report_client/`, bundled here with esbuild (IIFE, inlined) and fed the results
 * embedded as JSON. The page references no URL, so it opens offline from a file.
 *
 * The client is bundled ahead of time (`deno task bundle-report` writes
 * cli/report_client_bundle.ts, checked by a test), so writing a report needs no permission
 * beyond writing the file. Bundling itself runs the esbuild binary (`--allow-run`,
 * `--allow-env`); esbuild is imported on first use only.
 */

import { fileURLToPath } from "node:url";
import type { Results, VmResult } from "../core/metrics/results.ts";
import { ENGINE_NAMES } from "../core/scenario.ts";
import { CHARTS } from "./report_client/charts.ts";
import { vmColor } from "./report_client/palette.ts";
import { esc, grouped } from "./report_client/svg.ts";
import { formatNs, formatPct } from "./table.ts";
import { REPORT_CLIENT_JS } from "./report_client_bundle.ts";
import { showValue } from "../core/metrics/expect.ts";
import { migrationRows } from "./report_tables.ts";

/** The client bundle could not be built (a broken or missing `cli/report_client/`). */
export class ReportBuildError extends Error {
  /** A build failure with esbuild's messages. */
  constructor(message: string) {
    super(message);
    this.name = "ReportBuildError";
  }
}

/** Id of the `<script type="application/json">` holding the results. */
export const RESULTS_SCRIPT_ID = "gvtsim-results";

/** Bundles `cli/report_client/main.ts` into one browser script (IIFE, minified). */
export async function bundleReportClient(): Promise<string> {
  const entry = fileURLToPath(new URL("./report_client/main.ts", import.meta.url));
  const root = fileURLToPath(new URL("..", import.meta.url));
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (e) {
    throw new ReportBuildError(`cannot load esbuild: ${(e as Error).message}`);
  }
  try {
    const out = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: root,
      bundle: true,
      write: false,
      format: "iife",
      platform: "browser",
      target: "es2020",
      minify: true,
      legalComments: "none",
      charset: "ascii",
      logLevel: "silent",
    });
    const file = out.outputFiles[0];
    if (!file) throw new ReportBuildError("esbuild produced no output for the report client");
    return file.text;
  } catch (e) {
    if (e instanceof ReportBuildError) throw e;
    throw new ReportBuildError(`bundling the report client failed: ${(e as Error).message}`);
  } finally {
    await esbuild.stop();
  }
}

/** JSON safe inside a `<script>` element (no `<`, no line or paragraph separators). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/** Script text safe inside a `<script>` element. */
function scriptText(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** The report pages' style sheet (shared with the sweep report, sweep/report.ts). */
const REPORT_CSS = `
:root{--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--pass:#1f7a4d;
--pass-bg:#e3f6ec;--fail:#b42318;--fail-bg:#fde8e6;--accent:#3b5b8c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:#1f2933;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#cbd2d9;font-size:13px}
main{max-width:1320px;margin:0 auto;padding:20px 24px 40px}
section{margin-top:28px}
h2{font-size:17px;margin:0 0 10px;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:18px;font-weight:600;margin-top:2px}
.card .d{color:var(--muted);font-size:12px;margin-top:2px}
.scroll{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:5px 7px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:#f0f3f7;color:var(--muted);font-weight:600;font-size:12px;white-space:normal;
vertical-align:bottom}
th:first-child,td:first-child,td.l,th.l{text-align:left}
td.wrap{white-space:normal}
td.reason{white-space:normal;min-width:150px;max-width:260px}
tr:last-child td{border-bottom:none}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;
vertical-align:baseline}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.pass{color:var(--pass);background:var(--pass-bg)}
.fail{color:var(--fail);background:var(--fail-bg)}
.state-failsafe,.state-crashed{color:var(--fail);font-weight:600}
.muted{color:var(--muted)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:12px 14px}
figure.wide{grid-column:1/-1}
figure h3{margin:0;font-size:14px;font-weight:600}
figure .cap{margin:2px 0 6px;color:var(--muted);font-size:12px}
.chart-svg{display:block;width:100%;height:auto}
.chart-svg text{font-size:11px;fill:var(--fg)}
.chart-svg .tick{fill:var(--muted)}
.chart-svg .axis-title{font-size:11px;fill:var(--muted);font-weight:600}
.chart-svg .value{font-size:10px;fill:var(--muted)}
.chart-svg .no-data{fill:var(--muted);font-size:13px}
.chart-svg .grid{stroke:#e9edf2;stroke-width:1}
.chart-svg .axis{stroke:#9aa5b1;stroke-width:1}
.chart-svg .plot-bg{fill:#fbfcfd}
.chart-svg .series{fill:none;stroke-width:1.4;stroke-linejoin:round;opacity:.9}
.chart-svg .stacked{stroke:#fff;stroke-width:.8}
.chart-svg .lane{fill:#f7f9fb}
.chart-svg .lane.odd{fill:#eef1f5}
.chart-svg .area{fill-opacity:.28;stroke-width:1}
.legend{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;
font-size:12px;color:var(--muted)}
.note{margin:4px 0 0;font-size:12px;color:var(--muted)}
details{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;
margin-top:8px}
summary{cursor:pointer;font-weight:600}
footer{color:var(--muted);font-size:12px;text-align:center;padding:20px}
`;

function card(k: string, v: string, d = ""): string {
  return `<div class="card"><div class="k">${esc(k)}</div><div class="v">${v}</div>${
    d ? `<div class="d">${d}</div>` : ""
  }</div>`;
}

function summary(r: Results): string {
  const passed = r.expectations.filter((e) => e.pass).length;
  const total = r.expectations.length;
  const expBadge = total === 0
    ? `<span class="muted">none</span>`
    : `<span class="badge ${
      passed === total ? "pass" : "fail"
    }">${passed} / ${total} passed</span>`;
  const iso = r.isolation.checked
    ? `<span class="badge ${r.isolation.violations === 0 ? "pass" : "fail"}">${
      r.isolation.violations === 0 ? "held" : `${r.isolation.violations} violations`
    }</span>`
    : `<span class="muted">not checked</span>`;
  const util = Object.entries(r.gpu.engines)
    .map(([e, u]) => `${esc(e.toUpperCase())} ${formatPct(u.utilization)}`)
    .join(" &middot; ");
  const hv = r.hypervisor;
  // several hosts: these cards are the first one's; the Hosts table has each
  const first = r.hosts ? ` (host ${r.hosts[0].name})` : "";
  return `<div class="cards">${
    [
      card(
        "Scenario",
        esc(r.scenario),
        `<code>${esc(r.file)}</code> &middot; seed ${esc(r.seed)}`,
      ),
      card("Simulated time", esc(formatNs(r.simulatedNs)), `${grouped(r.simulatedNs)} ns`),
      card(
        "Hypervisor",
        esc(hv.name),
        `${hv.nativeOps.length} native ops, ${hv.fallbackOps.length} fallback` +
          (hv.errors.length ? `, <span class="fail">${hv.errors.length} errors</span>` : "") +
          (hv.faultsInjected ? `, ${hv.faultsInjected} faults injected` : ""),
      ),
      card(
        `Scheduler${first}`,
        esc(r.scheduler.policy),
        `${grouped(r.scheduler.switches)} switches, drain wait ${
          esc(formatNs(r.scheduler.drainWaitNs))
        }`,
      ),
      card("Isolation", iso),
      card("Expectations", expBadge),
      card(`GPU utilization${first}`, `${r.vms.length} VMs`, util || "no engines"),
    ].join("")
  }</div>`;
}

/** One column of the VM table: heading, cell class, cell markup. */
interface VmColumn {
  head: string;
  cls: string;
  cell(vm: VmResult, names: string[]): string;
}

const DASH = `<span class="muted">-</span>`;

const VM_COLUMNS: VmColumn[] = [
  {
    head: "VM",
    cls: "l",
    cell: (vm, names) =>
      `<span class="swatch" style="background:${vmColor(names, vm.name)}"></span>${esc(vm.name)}`,
  },
  { head: "type", cls: "l", cell: (vm) => esc(vm.type) },
  {
    head: "state",
    cls: "l reason",
    cell: (vm) =>
      `<span class="state-${esc(vm.state)}">${esc(vm.state)}</span>` +
      (vm.stateReason ? `<br><span class="muted">${esc(vm.stateReason)}</span>` : ""),
  },
  { head: "weight", cls: "", cell: (vm) => esc(vm.weight) },
  ...ENGINE_NAMES.map((e): VmColumn => ({
    head: e.toUpperCase(),
    cls: "",
    cell: (vm) => vm.engines[e] ? esc(formatPct(vm.engines[e].share)) : DASH,
  })),
  { head: "fps", cls: "", cell: (vm) => esc(vm.fps.toFixed(1)) },
  { head: "submitted", cls: "", cell: (vm) => grouped(vm.submitted) },
  { head: "completed", cls: "", cell: (vm) => grouped(vm.completed) },
  { head: "batches/s", cls: "", cell: (vm) => esc(vm.throughput.toFixed(1)) },
  ...(["p50", "p99", "max"] as const).map((p): VmColumn => ({
    head: `latency ${p}`,
    cls: "",
    cell: (vm) => vm.latency.count === 0 ? DASH : esc(formatNs(vm.latency[p])),
  })),
  { head: "traps", cls: "", cell: (vm) => grouped(vm.traps.total ?? 0) },
  {
    head: "% native",
    cls: "",
    cell: (vm) => vm.nativePct === undefined ? DASH : esc(`${vm.nativePct}%`),
  },
];

/** The hypervisor column, shown only when some VM runs under another backend than the run's. */
const HYPERVISOR_COLUMN: VmColumn = {
  head: "hypervisor",
  cls: "l",
  cell: (vm) => esc(vm.hypervisor),
};

function vmTable(r: Results): string {
  const names = r.vms.map((v) => v.name);
  const columns = [...VM_COLUMNS];
  if (r.vms.some((vm) => vm.hypervisor !== r.hypervisor.name)) {
    columns.splice(2, 0, HYPERVISOR_COLUMN);
  }
  const cls = (c: VmColumn) => c.cls ? ` class="${c.cls}"` : "";
  const head = columns.map((c) => `<th${cls(c)}>${esc(c.head)}</th>`).join("");
  const rows = r.vms.map((vm) =>
    `<tr>${columns.map((c) => `<td${cls(c)}>${c.cell(vm, names)}</td>`).join("")}</tr>`
  ).join("");
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody>` +
    `</table></div><p class="note">RCS / BCS / VCS / VECS: share of each engine's time the VM's ` +
    `workloads used over the whole run. Frame counts and p90 latencies are in the CSV (p90 also in the latency chart).` +
    (columns.includes(HYPERVISOR_COLUMN) ? "" : ` All VMs run under ${esc(r.hypervisor.name)}.`) +
    `</p>`;
}

function charts(): string {
  return `<div class="grid">${
    CHARTS.map((c) =>
      `<figure${c.wide ? ' class="wide"' : ""}><h3>${esc(c.title)}</h3><p class="cap">${
        esc(c.caption)
      }</p>` +
      `<div class="chart" data-chart="${esc(c.id)}"><noscript>This chart is drawn by the ` +
      `page's script; enable JavaScript to see it.</noscript></div></figure>`
    ).join("")
  }</div>`;
}

function expectations(r: Results): string {
  if (r.expectations.length === 0) return `<p class="muted">The scenario has no expectations.</p>`;
  const rows = r.expectations.map((e) =>
    `<tr><td><span class="badge ${e.pass ? "pass" : "fail"}">${e.pass ? "pass" : "fail"}</span>` +
    `</td><td class="l"><code>${esc(`${e.file}:${e.line}:${e.col}`)}</code></td>` +
    `<td class="l wrap"><code>${esc(e.text)}</code></td><td>${
      esc(typeof e.actual === "number" ? showValue(e.actual, e.unit) : e.actual)
    }</td>` +
    `<td class="l">${esc(e.expected)}</td></tr>`
  ).join("");
  return `<div class="scroll"><table><thead><tr><th>result</th><th class="l">line</th>` +
    `<th class="l">expectation</th><th>actual</th><th class="l">expected</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></div>`;
}

function counterTable(title: string, counters: Record<string, number>): string {
  const keys = Object.keys(counters).sort();
  if (keys.length === 0) return "";
  return `<details><summary>${esc(title)} (${keys.length})</summary><table><tbody>${
    keys.map((k) =>
      `<tr><td class="l"><code>${esc(k)}</code></td><td>${grouped(counters[k])}</td></tr>`
    )
      .join("")
  }</tbody></table></details>`;
}

function errorsTable(r: Results): string {
  const errs = r.hypervisor.errors;
  if (errs.length === 0) return "";
  return `<section><h2>Backend errors</h2><div class="scroll"><table><thead><tr>` +
    `<th class="l">plugin</th><th class="l">op</th><th class="l">VM</th><th class="l">message</th>` +
    `</tr></thead><tbody>${
      errs.map((e) =>
        `<tr><td class="l">${esc(e.plugin)}</td><td class="l">${esc(e.op)}</td><td class="l">${
          esc(e.vm)
        }</td><td class="l wrap">${esc(e.message)}</td></tr>`
      ).join("")
    }</tbody></table></div></section>`;
}

/** The live migrations (rounds, pages, downtime) and the hosts, in a multi-host run. */
function migrationSection(r: Results): string {
  if (!r.hosts && !r.migrations?.length) return "";
  const { head, rows } = migrationRows(r);
  const mig = rows.length === 0
    ? `<p class="muted">No live migration.</p>`
    : `<div class="scroll"><table><thead><tr>${
      head.map((h, i) => `<th${i < 4 ? ' class="l"' : ""}>${esc(h)}</th>`).join("")
    }</tr></thead><tbody>${
      rows.map((row) =>
        `<tr>${row.map((c, i) => `<td${i < 4 ? ' class="l"' : ""}>${esc(c)}</td>`).join("")}</tr>`
      ).join("")
    }</tbody></table></div>`;
  const rounds = (r.migrations ?? []).map((m) =>
    `<details><summary>${
      esc(`${m.vm}: ${m.from} -> ${m.to}, ${m.rounds.length} pre-copy rounds`)
    }` +
    `</summary><table><thead><tr><th>round</th><th>start</th><th>length</th><th>pages</th></tr>` +
    `</thead><tbody>${
      m.rounds.map((x) =>
        `<tr><td>${x.round}</td><td>${esc(formatNs(x.start))}</td><td>${
          esc(x.end >= 0 ? formatNs(x.end - x.start) : "-")
        }</td><td>${grouped(x.pages)}</td></tr>`
      ).join("")
    }</tbody></table>${m.reason ? `<p>${esc(m.reason)}</p>` : ""}</details>`
  ).join("");
  const engines = Object.keys(r.hosts?.[0]?.engines ?? {});
  const hosts = (r.hosts ?? []).map((h) =>
    `<tr><td class="l">${esc(h.name)}</td><td class="l">${esc(h.gpu)}</td><td class="l">${
      esc(h.hypervisor)
    }</td><td class="l">${esc(h.vms.join(" ") || "-")}</td>${
      engines.map((e) => `<td>${esc(formatPct(h.engines[e]?.utilization ?? 0))}</td>`).join("")
    }<td>${grouped(h.commands)}</td><td>${grouped(h.msis)}</td><td>${grouped(h.switches)}</td><td>${
      esc(formatNs(h.drainWaitNs))
    }</td><td>${h.violations}</td></tr>`
  ).join("");
  return `<section id="migration"><h2>Migration</h2>${mig}${rounds}` +
    (hosts
      ? `<h3>Hosts</h3><div class="scroll"><table><thead><tr><th class="l">host</th>` +
        `<th class="l">gpu</th><th class="l">hypervisor</th><th class="l">VMs at the end</th>` +
        engines.map((e) => `<th>${esc(e)} busy</th>`).join("") +
        `<th>commands</th><th>MSIs</th><th>vGPU switches</th><th>drain wait</th>` +
        `<th>violations</th></tr></thead><tbody>${hosts}</tbody></table></div>`
      : "") +
    `</section>\n`;
}

function counters(r: Results): string {
  const parts = [
    counterTable("Mediator counters", r.counters),
    counterTable("Scheduler counters", r.scheduler.counters),
    counterTable("GPU counters", r.gpu.counters),
    counterTable(`Hypervisor counters (${r.hypervisor.name})`, r.hypervisor.counters),
    ...r.vms.map((vm) => counterTable(`VM ${vm.name} counters`, vm.counters)),
  ].filter((p) => p !== "");
  return parts.length ? `<section><h2>Counters</h2>${parts.join("")}</section>` : "";
}

/**
 * The start of a report page (the run report, the sweep report): the head with `title` and the
 * report CSS plus `css`, then the body's header up to its h1.
 */
export function pageStart(title: string, css = ""): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${REPORT_CSS}${css}</style>
</head>
<body>
<header><h1>${esc(title)}</h1>
`;
}

/** The report page for `results` around an already-bundled client script. */
export function reportPage(results: Results, clientJs: string): string {
  const r = results;
  return pageStart(`gvtsim report: ${r.scenario}`) +
    `<p>${esc(r.file)} &middot; seed ${esc(r.seed)} &middot; ${
      esc(formatNs(r.simulatedNs))
    } simulated` +
    ` &middot; ${esc(r.hypervisor.name)} &middot; ${esc(r.scheduler.policy)} scheduler</p></header>
<main>
<section id="summary"><h2>Summary</h2>${summary(r)}</section>
<section id="vms"><h2>Virtual machines</h2>${vmTable(r)}</section>
<section id="charts"><h2>Charts</h2>${charts()}</section>
<section id="expectations"><h2>Expectations</h2>${expectations(r)}</section>
${migrationSection(r)}${errorsTable(r)}${counters(r)}
</main>
<footer>gvtsim &middot; results schema <code>${esc(r.schema)}</code></footer>
<script type="application/json" id="${RESULTS_SCRIPT_ID}">${scriptJson(r)}</script>
<script>${scriptText(clientJs)}</script>
</body>
</html>
`;
}

/**
 * The self-contained HTML report for a run: summary, per-VM table, charts (drawn by the
 * bundled client on load), expectations and counters. Deterministic for given results.
 */
export function reportHtml(results: Results): Promise<string> {
  return Promise.resolve(reportPage(results, REPORT_CLIENT_JS));
}
