// Regenerates spec/check-ids.ts from ../shared/kernel-spec.md (its index table).
// Usage: tsx scripts/gen-check-ids.ts [path-to-kernel-spec.md]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSpecIndex, renderCheckIdsModule } from './spec-index.ts';

const specPath = process.argv[2] ?? fileURLToPath(new URL('../../shared/kernel-spec.md', import.meta.url));
const out = fileURLToPath(new URL('../spec/check-ids.ts', import.meta.url));
const rows = parseSpecIndex(readFileSync(specPath, 'utf8'), specPath);
writeFileSync(out, renderCheckIdsModule(rows));
console.log(`wrote ${rows.length} check ids to ${out}`);
