// Validates a report against the generated reports/report.schema.json (for tests and for
// consumers that read reports back).
import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';

let validator: ValidateFunction | undefined;

/** One line per schema violation (`/summary/cases: must be number`); empty when valid. */
export function reportSchemaErrors(report: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, allowUnionTypes: true }).compile(
    JSON.parse(readFileSync(new URL('./report.schema.json', import.meta.url), 'utf8')) as object,
  );
  if (validator(report)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}
