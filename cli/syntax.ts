/**
 * `gvtsim syntax --html PATH`: railroad diagrams of the scenario grammar, as one HTML file
 * that works offline. Chevrotain's page loads its diagram scripts and CSS from a CDN; here
 * they are read from the chevrotain npm package itself and inlined, so nothing is fetched.
 * @module
 */

import { createSyntaxDiagramsCode } from "chevrotain";
import { scenarioParser } from "../dsl/parser.ts";
import { planOutputs, writeAtomic } from "./output.ts";

const RES = "gvtsim-inline:";

/** Where the chevrotain package keeps its diagram assets (nodeModulesDir "auto"). */
const DIAGRAMS = new URL("../node_modules/chevrotain/diagrams/", import.meta.url);

/** The diagram page's scripts and CSS, by the path chevrotain's page refers to them. */
const ASSET_FILES: Record<string, string> = {
  "diagrams.css": "diagrams.css",
  "vendor/railroad-diagrams.js": "vendor/railroad-diagrams.js",
  "src/diagrams_builder.js": "src/diagrams_builder.js",
  "src/diagrams_behavior.js": "src/diagrams_behavior.js",
  "src/main.js": "src/main.js",
};

/**
 * Reads one asset, dropping comment lines that carry web addresses (credits, references) so
 * the page names no URL it could fetch; lines with a quoted string are code (the SVG and
 * XLink namespace names, identifiers that are never fetched).
 */
function asset(name: string): string {
  const file = ASSET_FILES[name];
  if (file === undefined) return "";
  const text = Deno.readTextFileSync(new URL(file, DIAGRAMS));
  return text.split("\n").filter((l) => !/https?:\/\//.test(l) || /["']/.test(l)).join("\n")
    .replaceAll("</script", "<\\/script");
}

/** The syntax-diagram page of the scenario grammar, self-contained. */
export function syntaxDiagramsHtml(): string {
  const html = createSyntaxDiagramsCode(scenarioParser.getSerializedGastProductions(), {
    resourceBase: RES,
    css: RES + "diagrams.css",
  });
  return html
    .replace(
      /<link rel='stylesheet' href='[^']*'>/,
      () => `<title>gvtsim scenario grammar</title>\n<style>\n${asset("diagrams.css")}\n</style>`,
    )
    .replace(/<script src='gvtsim-inline:([^']+)'><\/script>/g, (_m, file: string) => {
      const js = asset(file);
      return js === "" ? "" : `<script>\n${js}\n</script>`;
    });
}

/** `gvtsim syntax --html PATH`: writes {@link syntaxDiagramsHtml} atomically; the exit code. */
export function writeSyntaxHtml(path: string): number {
  const bad = planOutputs([{ flag: "--html", path }], []);
  if (bad) {
    console.error(`gvtsim syntax: error: ${bad.message}`);
    return 2;
  }
  writeAtomic(path, syntaxDiagramsHtml());
  console.log(`wrote ${path}`);
  return 0;
}
