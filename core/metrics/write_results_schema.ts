/** `deno task schema`: writes docs/results.schema.json from core/metrics/results.ts. */
import { RESULTS_SCHEMA_PATH, resultsJsonSchemaText } from "./results_schema_gen.ts";

Deno.writeTextFileSync(
  new URL("../../" + RESULTS_SCHEMA_PATH, import.meta.url),
  resultsJsonSchemaText(),
);
console.log(`wrote ${RESULTS_SCHEMA_PATH}`);
