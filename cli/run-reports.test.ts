// `fusepass run` writes the readable reports beside the JSON report: <name>.md, <name>.html and
// <name>.junit.xml, made from the same report (same cases, same verdict).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Target } from '../spec/target.ts';
import type { Report } from '../reports/report.ts';
import { main } from './main.ts';

const fixtures = fileURLToPath(new URL('../conformance/test-fixtures/', import.meta.url));

/** A sim stand-in that answers each step as it expects. */
const echo: Target = {
  name: 'sim',
  unavailable: async () => null,
  info: async () => ({ name: 'sim', profile: '6.18', kernelRelease: null }),
  start: async () => ({
    apply: async (step) => ({ errno: step.expect?.errno ?? null, value: step.expect?.value ?? null, requests: step.expect?.requests ?? [], events: step.expect?.events ?? [], explain: { checks: step.checks ?? [] } }),
    finish: async () => ({ errno: null, requests: [], events: [] }),
  }),
};

describe('fusepass run: readable reports', () => {
  it('writes Markdown, HTML and JUnit beside the JSON report and names them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fusepass-run-reports-'));
    const json = join(dir, 'run.json');
    const out: string[] = [];
    const code = await main(['run', '--target', 'sim', '--json', json, join(fixtures, 'valid-case.json')], { out: (l) => out.push(l), err: () => undefined }, {
      run: { loadSim: async () => ({ target: echo }), knownFile: join(dir, 'none.json') },
    });
    expect(code).toBe(0);
    for (const ext of ['md', 'html', 'junit.xml']) expect(existsSync(join(dir, `run.${ext}`)), ext).toBe(true);
    expect(out.join('\n')).toContain(`readable reports: ${join(dir, 'run.html')}, ${join(dir, 'run.md')}, ${join(dir, 'run.junit.xml')}`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    const id = report.cases[0]!.id;
    expect(readFileSync(join(dir, 'run.md'), 'utf8')).toContain(`[${id}](#case-${id})`);
    expect(readFileSync(join(dir, 'run.html'), 'utf8')).toContain(`id="case-${id}"`);
    expect(readFileSync(join(dir, 'run.junit.xml'), 'utf8')).toMatch(new RegExp(`<testcase name="${id}" classname="fusepass\\.sim\\.`));
  });
});
