// Writes docs/check-index.md: every check id of spec/check-ids.ts (itself generated from the
// spec's index) with its statement, result and spec section, so a reader of the repository or
// the package finds what an id in a finding, a case or a report means without ../shared.
// Usage: npx tsx scripts/gen-check-index.ts [--check]  (--check: exit 1 when the file is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHECKS } from '../spec/check-ids.ts';
import { checkSection } from '../reports/view.ts';
import { cell } from '../reports/markdown.ts';

export const CHECK_INDEX_FILE = fileURLToPath(new URL('../docs/check-index.md', import.meta.url));

export function checkIndexText(): string {
  const out = [
    '# Check index',
    '',
    'Every check id fusepass uses (findings, cases, reports, `explain`): the kernel behaviour it',
    'names on Linux 6.18 and the section of the kernel spec it comes from. Generated from',
    '`spec/check-ids.ts` by `scripts/gen-check-index.ts`; do not edit by hand.',
    '',
    '| id | check | result | spec section |',
    '|---|---|---|---|',
  ];
  for (const [id, c] of Object.entries(CHECKS)) out.push(`| <a id="${id}"></a>${id} | ${cell(c.statement)} | ${cell(c.result)} | ${cell(checkSection(id))} |`);
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = checkIndexText();
  if (process.argv.includes('--check')) {
    const stale = readFileSync(CHECK_INDEX_FILE, 'utf8') !== text;
    if (stale) console.error('docs/check-index.md is stale: run npx tsx scripts/gen-check-index.ts');
    process.exit(stale ? 1 : 0);
  }
  writeFileSync(CHECK_INDEX_FILE, text);
  console.log(`wrote docs/check-index.md (${Object.keys(CHECKS).length} check ids)`);
}
