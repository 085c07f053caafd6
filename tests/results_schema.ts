/** Validates run results against docs/results.schema.json with ajv (shared by tests). */
import { Ajv } from "ajv";

const schema = JSON.parse(
  Deno.readTextFileSync(new URL("../docs/results.schema.json", import.meta.url)),
);
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);

/** The schema violations of `results` as written by `--json` (empty when it is valid). */
export function schemaErrors(results: unknown): string[] {
  const data = JSON.parse(JSON.stringify(results));
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
}
