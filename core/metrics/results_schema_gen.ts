/**
 * Generates docs/results.schema.json, the JSON Schema of `gvtsim run --json`, from the
 * TypeScript types in results.ts with ts-json-schema-generator (`deno task schema`). A test
 * regenerates it and validates the results of every shipped scenario against it. Only the
 * task and the tests import this module (it loads the TypeScript compiler).
 * @module
 */

import { createGenerator } from "ts-json-schema-generator";
import { RESULTS_SCHEMA } from "./results.ts";

/** Where the schema lives, relative to the repository root. */
export const RESULTS_SCHEMA_PATH = "docs/results.schema.json";

/** The schema as a plain object: no unknown fields anywhere, `schema` pinned to its version. */
export function resultsJsonSchema(): Record<string, unknown> {
  const generated = createGenerator({
    path: new URL("./results.ts", import.meta.url).pathname,
    type: "Results",
    skipTypeCheck: true,
    additionalProperties: false,
  }).createSchema("Results") as Record<string, unknown>;
  const defs = generated.definitions as Record<string, { properties: Record<string, object> }>;
  defs.Results.properties.schema = {
    const: RESULTS_SCHEMA,
    description: "Schema name and version; bumped on any incompatible change.",
  };
  return {
    $schema: generated.$schema,
    $id: `urn:gvtsim:${RESULTS_SCHEMA.replace("/", ":")}`,
    title: `gvtsim run results (${RESULTS_SCHEMA})`,
    $comment: "Generated from core/metrics/results.ts by `deno task schema`; do not edit.",
    $ref: generated.$ref,
    definitions: defs,
  };
}

/** The schema file's text. */
export function resultsJsonSchemaText(): string {
  return JSON.stringify(resultsJsonSchema(), null, 2) + "\n";
}
