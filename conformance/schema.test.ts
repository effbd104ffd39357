import { describe, expect, it } from 'vitest';
import { generateSchemas, SCHEMA_TARGETS } from '../scripts/gen-schema.ts';
import { CHECK_INDEX_FILE, checkIndexText } from '../scripts/gen-check-index.ts';
import { readFileSync } from 'node:fs';

describe('generated JSON schemas', () => {
  // The committed schemas must be exactly what typescript-json-schema makes of the types now:
  // a type change without `npm run gen:schema` fails here.
  const generated = generateSchemas();
  for (const { target, text } of generated) {
    it(`${target.out} is up to date with ${target.typeName} in ${target.source} (npm run gen:schema)`, () => {
      const committed = readFileSync(new URL(`../${target.out}`, import.meta.url), 'utf8');
      expect(committed === text, `${target.out} is stale: run npm run gen:schema`).toBe(true);
    });
  }

  it('covers every schema (case, run report, check report)', () => {
    expect(SCHEMA_TARGETS.map((t) => t.out).sort()).toEqual(['conformance/case.schema.json', 'reports/check-report.schema.json', 'reports/report.schema.json']);
  });

  it('the case schema forbids unknown properties and requires the case fields of spec/case.ts', () => {
    const schema = JSON.parse(generated.find((g) => g.target.typeName === 'Case')!.text) as {
      additionalProperties: boolean;
      required: string[];
    };
    expect(schema.additionalProperties).toBe(false);
    expect([...schema.required].sort()).toEqual(['checks', 'id', 'steps', 'title', 'world']);
  });

  it('docs/check-index.md is up to date with spec/check-ids.ts (npx tsx scripts/gen-check-index.ts)', () => {
    expect(readFileSync(CHECK_INDEX_FILE, 'utf8') === checkIndexText(), 'docs/check-index.md is stale').toBe(true);
  });
});
