// Generates the committed JSON Schemas from their TypeScript source-of-truth types:
//   conformance/case.schema.json  <- Case   (spec/case.ts)
//   reports/report.schema.json    <- Report (reports/report.ts)
//   reports/check-report.schema.json <- CheckReport (check/protocol.ts)
// Usage: npm run gen:schema            (writes both)
//        tsx scripts/gen-schema.ts --check   (exit 1 when a committed schema is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as TJS from 'typescript-json-schema';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface SchemaTarget {
  /** The file the type lives in, relative to the repo root. */
  source: string;
  typeName: string;
  /** Where the generated schema is committed, relative to the repo root. */
  out: string;
}

export const SCHEMA_TARGETS: readonly SchemaTarget[] = [
  { source: 'spec/case.ts', typeName: 'Case', out: 'conformance/case.schema.json' },
  { source: 'reports/report.ts', typeName: 'Report', out: 'reports/report.schema.json' },
  { source: 'check/protocol.ts', typeName: 'CheckReport', out: 'reports/check-report.schema.json' },
];

const SETTINGS: TJS.PartialArgs = {
  required: true,
  noExtraProps: true,
  strictNullChecks: true,
  // Keep generation deterministic and independent of the machine's absolute paths.
  ref: true,
  aliasRef: false,
  titles: false,
  uniqueNames: false,
};

function compilerOptions(): Record<string, unknown> {
  const tsconfig = JSON.parse(readFileSync(`${root}/tsconfig.json`, 'utf8')) as { compilerOptions: Record<string, unknown> };
  // Bundler resolution keeps definition names short (`Step`, not `import("/abs/path").Step`);
  // it resolves our explicit `.ts` imports exactly like NodeNext does.
  return { ...tsconfig.compilerOptions, module: 'ESNext', moduleResolution: 'Bundler' };
}

/** The schema text (2-space JSON plus newline) for each target, in SCHEMA_TARGETS order. */
export function generateSchemas(): { target: SchemaTarget; text: string }[] {
  const program = TJS.getProgramFromFiles(
    SCHEMA_TARGETS.map((t) => `${root}/${t.source}`),
    compilerOptions(),
    root,
  );
  const generator = TJS.buildGenerator(program, SETTINGS);
  if (!generator) throw new Error('typescript-json-schema: the TypeScript program has errors (run npx tsc -p . --noEmit)');
  return SCHEMA_TARGETS.map((target) => {
    const schema = repairStepBranches(fixRecordDefinitions(generator.getSchemaForSymbol(target.typeName) as SchemaObject, generator));
    return { target, text: `${JSON.stringify(schema, null, 2)}\n` };
  });
}

type SchemaObject = Record<string, unknown> & { definitions?: Record<string, SchemaObject> };

/**
 * typescript-json-schema turns `Record<string, T>` under noExtraProps into an object that
 * allows no properties at all (and drops T). Repair each such definition to
 * `additionalProperties: { $ref: T }`, adding T's own definition.
 */
function fixRecordDefinitions(schema: SchemaObject, generator: TJS.JsonSchemaGenerator): SchemaObject {
  const defs = schema.definitions ?? {};
  for (const [name, def] of Object.entries(defs)) {
    const m = /^Record<string,(\w+)>$/.exec(name);
    if (!m || def['properties'] !== undefined || def['additionalProperties'] !== false) continue;
    const valueType = m[1]!;
    const valueSchema = generator.getSchemaForSymbol(valueType, true) as SchemaObject;
    const { definitions: nested = {}, $schema: _ignored, ...valueDef } = valueSchema;
    for (const [n, d] of Object.entries(nested)) defs[n] ??= d;
    defs[valueType] ??= valueDef;
    defs[name] = { type: 'object', additionalProperties: { $ref: `#/definitions/${valueType}` } };
  }
  return schema;
}

/**
 * `Step = Action & { checks?, expect?, note? }` becomes an anyOf with one branch per action.
 * For a recursive action (simInterleave nests Action[]) typescript-json-schema emits a branch
 * holding only the intersection's extra properties, which no step can match. Rebuild such a
 * branch from the action's own definition plus those extras (Step and Action list the actions
 * in the same order).
 */
function repairStepBranches(schema: SchemaObject): SchemaObject {
  const defs = schema.definitions ?? {};
  const step = defs['Step'] as { anyOf?: SchemaObject[] } | undefined;
  const action = defs['Action'] as { anyOf?: { $ref?: string }[] } | undefined;
  if (!step?.anyOf || !action?.anyOf || step.anyOf.length !== action.anyOf.length) return schema;
  step.anyOf = step.anyOf.map((branch, k) => {
    const props = (branch['properties'] ?? {}) as Record<string, { const?: unknown }>;
    if (props['op']?.const !== undefined) return branch;
    const ref = action.anyOf![k]?.$ref;
    const def = ref ? defs[ref.replace('#/definitions/', '')] : undefined;
    if (!def) return branch;
    const required = [...new Set([...((def['required'] as string[]) ?? []), ...((branch['required'] as string[]) ?? [])])].sort();
    const rebuilt: SchemaObject = { ...def, type: 'object', properties: { ...(def['properties'] as object), ...props }, additionalProperties: false };
    if (required.length > 0) rebuilt['required'] = required;
    return rebuilt;
  });
  return schema;
}

/** Targets whose committed file differs from what the types generate now. */
export function staleSchemas(): string[] {
  return generateSchemas()
    .filter(({ target, text }) => {
      let committed = '';
      try {
        committed = readFileSync(`${root}/${target.out}`, 'utf8');
      } catch {
        return true;
      }
      return committed !== text;
    })
    .map(({ target }) => target.out);
}

function runCli(argv: string[]): number {
  if (argv.includes('--check')) {
    const stale = staleSchemas();
    for (const out of stale) console.error(`${out} is stale: run npm run gen:schema`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const { target, text } of generateSchemas()) {
    writeFileSync(`${root}/${target.out}`, text);
    console.log(`wrote ${target.out} (from ${target.typeName} in ${target.source})`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runCli(process.argv.slice(2));
}
