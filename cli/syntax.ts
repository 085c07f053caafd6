/**
 * `gvtsim syntax --html PATH`: railroad diagrams of the scenario grammar, as one HTML file
 * that works offline (the diagram scripts and CSS are inlined, nothing is fetched).
 * @module
 */

import { createSyntaxDiagramsCode } from "chevrotain";
import { scenarioParser } from "../dsl/parser.ts";
import { DIAGRAM_ASSETS } from "../dsl/diagram_assets.ts";

const RES = "gvtsim-inline:";

/** The syntax-diagram page of the scenario grammar, self-contained. */
export function syntaxDiagramsHtml(): string {
  const html = createSyntaxDiagramsCode(scenarioParser.getSerializedGastProductions(), {
    resourceBase: RES,
    css: RES + "diagrams.css",
  });
  const css = DIAGRAM_ASSETS["diagrams.css"] ?? "";
  return html
    .replace(
      /<link rel='stylesheet' href='[^']*'>/,
      () => `<title>gvtsim scenario grammar</title>\n<style>\n${css}\n</style>`,
    )
    .replace(/<script src='gvtsim-inline:([^']+)'><\/script>/g, (_m, file: string) => {
      const js = DIAGRAM_ASSETS[file];
      return js === undefined ? "" : `<script>\n${js}\n</script>`;
    });
}

/** Writes {@link syntaxDiagramsHtml} to `path`. */
export function writeSyntaxHtml(path: string): void {
  Deno.writeTextFileSync(path, syntaxDiagramsHtml());
}
