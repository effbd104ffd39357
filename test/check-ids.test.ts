import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../spec/check-ids.ts';
import { parseSpecIndex, renderCheckIdsModule } from '../scripts/spec-index.ts';

const specPath = fileURLToPath(new URL('../../shared/kernel-spec.md', import.meta.url));

describe('spec/check-ids.ts', () => {
  it.skipIf(!existsSync(specPath))('is the generated image of shared/kernel-spec.md (run scripts/gen-check-ids.ts)', () => {
    const rows = parseSpecIndex(readFileSync(specPath, 'utf8'), specPath);
    const committed = readFileSync(new URL('../spec/check-ids.ts', import.meta.url), 'utf8');
    expect(committed).toBe(renderCheckIdsModule(rows));
  });

  it('holds every prefix of the spec with ids numbered from 1 without gaps', () => {
    const byPrefix = new Map<string, number[]>();
    for (const id of Object.keys(CHECKS)) {
      const [prefix, n] = id.split('-');
      byPrefix.set(prefix!, [...(byPrefix.get(prefix!) ?? []), Number(n)]);
    }
    expect([...byPrefix.keys()].sort()).toEqual(
      ['BCLOSE', 'BID', 'BOPEN', 'DEV', 'INIT', 'IO', 'IOM', 'LIFE', 'OBS', 'OPEN', 'PTF', 'STACK'],
    );
    for (const [, ns] of byPrefix) expect(ns).toEqual(ns.map((_, i) => i + 1));
  });

  it('rejects a document without the index with a message naming the file', () => {
    expect(() => parseSpecIndex('# nothing here', 'x.md')).toThrow(/x\.md: no "## Index of check ids"/);
  });
});
