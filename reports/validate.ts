// Validates reports against the generated schemas (reports/report.schema.json for `run`,
// reports/check-report.schema.json for `check`), for tests and for consumers that read reports
// back.
import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';

const validators = new Map<string, ValidateFunction>();

function schemaErrors(schemaFile: string, report: unknown): string[] {
  let v = validators.get(schemaFile);
  if (!v) {
    v = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(JSON.parse(readFileSync(new URL(schemaFile, import.meta.url), 'utf8')) as object);
    validators.set(schemaFile, v);
  }
  if (v(report)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}

/** One line per schema violation (`/summary/cases: must be number`); empty when valid. */
export function reportSchemaErrors(report: unknown): string[] {
  return schemaErrors('./report.schema.json', report);
}

/** The same for a `fusepass check` report. */
export function checkReportSchemaErrors(report: unknown): string[] {
  return schemaErrors('./check-report.schema.json', report);
}
