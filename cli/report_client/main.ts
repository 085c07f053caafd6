/// <reference lib="dom" />
/**
 * Browser entry of the HTML report (bundled by cli/report.ts with esbuild): reads the run's
 * results from the page's `<script type="application/json" id="gvtsim-results">`, draws every
 * chart into its `[data-chart]` container, then sets `document.body.dataset.chartsRendered`
 * to the number of charts drawn (a chart that throws shows its error instead and is not
 * counted).
 */

import type { Results } from "../../core/metrics/results.ts";
import { CHARTS } from "./charts.ts";
import { esc } from "./svg.ts";

/** Draws all charts of the page. */
export function renderCharts(): void {
  const data = document.getElementById("gvtsim-results");
  if (!data?.textContent) return;
  const results = JSON.parse(data.textContent) as Results;
  let drawn = 0;
  for (const host of document.querySelectorAll<HTMLElement>("[data-chart]")) {
    const spec = CHARTS.find((c) => c.id === host.dataset.chart);
    if (!spec) continue;
    try {
      host.innerHTML = spec.draw(results);
      drawn++;
    } catch (e) {
      // One broken chart must not take the others down; the count tells a test it failed.
      host.innerHTML = `<p class="note">This chart could not be drawn: ${
        esc(e instanceof Error ? e.message : String(e))
      }</p>`;
    }
  }
  document.body.dataset.chartsRendered = String(drawn);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderCharts);
else renderCharts();
