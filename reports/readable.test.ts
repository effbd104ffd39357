// The Markdown, HTML and JUnit writers on a small hand-written report (reports/sample-report.ts):
// every case with its status per target, divergences worded "expected (sim) observed (kernel)",
// check ids linked to anchors present in the same file, the environment, no network, escaping.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_IDS } from '../spec/check-ids.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { FAILING_CASE, sampleReport } from './sample-report.ts';
import { describeStep, divergenceText, traceRows } from './view.ts';
import { readablePaths, writeReadableReports } from './write.ts';

const env = { privileges: 'root (uid 0), CAP_SYS_ADMIN' };

describe('report view', () => {
  it('words a divergence as expected (sim) observed (kernel)', () => {
    expect(divergenceText({ step: 4, op: 'open', field: 'requests', sim: ['OPEN', 'RELEASE'], kernel: ['OPEN'] })).toBe(
      'requests: expected [OPEN, RELEASE] (sim) observed [OPEN] (kernel)',
    );
    expect(divergenceText({ step: 1, op: 'backingOpen', field: 'errno', sim: null, kernel: 'EPERM' })).toBe('errno: expected success (sim) observed EPERM (kernel)');
  });

  it('describes a step by its op and arguments, without checks and expectations', () => {
    expect(describeStep({ op: 'backingOpen', dev: 'dev', fd: 'bf1', as: 'b1', checks: ['BOPEN-13'], expect: { errno: null } })).toBe('backingOpen dev=dev fd=bf1 as=b1');
  });

  it('puts both targets of a step on one row and the teardown last, marking the bad rows', () => {
    const rows = traceRows(FAILING_CASE);
    expect(rows.map((r) => r.op)).toEqual(['devOpen', 'mount', 'daemonOpen', 'backingOpen', 'open', 'finish']);
    const open = rows[4]!;
    expect(open.obs.sim?.observation.errno).toBe('EIO');
    expect(open.obs.kernel?.observation.requests).toEqual(['OPEN']);
    expect(open.bad).toBe(true);
    expect(rows.filter((r) => r.bad).map((r) => r.op)).toEqual(['open', 'finish']);
  });
});

describe('Markdown report', () => {
  const md = renderMarkdown(sampleReport(), { environment: env });

  it('has a case table with the status per target', () => {
    expect(md).toMatch(/\| \[problem-keep-cache-makes-passthrough-open-fail\]\(#case-problem-keep-cache-makes-passthrough-open-fail\) \| problems \| FAIL \| passed \| failed \| 2 \|/);
    expect(md).toMatch(/\| \[bopen-success-returns-positive-id\]\([^)]*\) \| bopen \| PASS \| passed \| passed \|/);
    expect(md).toContain('| N/A | n/a | n/a |');
    expect(md).toContain('BROKEN');
  });

  it('shows the diverging trace open, step by step, with expected and observed', () => {
    expect(md).toContain('### FAIL problem-keep-cache-makes-passthrough-open-fail');
    expect(md).toContain('⚠ **requests: expected [OPEN, RELEASE] (sim) observed [OPEN] (kernel)**');
    expect(md).toContain('hidden cause EINVAL');
    // passing cases are folded
    expect(md).toMatch(/<details>\n<summary>PASS bopen-success-returns-positive-id/);
  });

  it('links every check id to an anchor in the same file, for all spec ids', () => {
    const links = new Set([...md.matchAll(/\]\(#(check-[A-Z]+-\d+)\)/g)].map((m) => m[1]));
    const anchors = new Set([...md.matchAll(/<a id="(check-[A-Z]+-\d+)"><\/a>/g)].map((m) => m[1]));
    expect(links.has('check-OPEN-9')).toBe(true);
    for (const l of links) expect(anchors.has(l)).toBe(true);
    expect(anchors.size).toBe(CHECK_IDS.length);
  });

  it('names the environment: kernel release, profile, privileges, date', () => {
    expect(md).toContain('| kernel release | 6.18.44-test |');
    expect(md).toContain('| profile | 6.18 |');
    expect(md).toContain('| privileges | root (uid 0), CAP_SYS_ADMIN |');
    expect(md).toContain('| date | 2026-11-24 03:00:00 UTC |');
  });

  it('keeps table cells intact when text holds pipes or HTML', () => {
    expect(md).toContain('FOPEN_PASSTHROUGH &lt;b&gt;');
    expect(md).not.toContain('<b>');
  });
});

describe('HTML report', () => {
  const html = renderHtml(sampleReport(), { environment: env });

  it('is one self-contained file: no external URL, script or stylesheet', () => {
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<link /);
    expect(html).toMatch(/<style>/);
  });

  it('every in-page link has its target', () => {
    const ids = new Set([...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]));
    const hrefs = [...html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]!);
    expect(hrefs).toContain('check-OPEN-9');
    for (const h of hrefs) expect(ids.has(h), h).toBe(true);
  });

  it('opens the failing case and marks the divergence on the kernel cell', () => {
    expect(html).toMatch(/<details class="case failed diverging" id="case-problem-keep-cache-makes-passthrough-open-fail" open>/);
    expect(html).toMatch(/<details class="case passed" id="case-bopen-success-returns-positive-id">/);
    expect(html).toContain('requests: expected [OPEN, RELEASE] (sim) observed [OPEN] (kernel)');
    expect(html).toContain('class="obs fail diverge errno"');
  });

  it('escapes case text', () => {
    expect(html).toContain('FOPEN_PASSTHROUGH &lt;b&gt;');
    expect(html).toContain('broken &amp; &lt;odd&gt;.json');
  });
});

describe('JUnit report', () => {
  const xml = renderJunit(sampleReport());

  it('has a suite per target, a sim-vs-kernel suite and a broken-files suite with consistent counts', () => {
    const suites = [...xml.matchAll(/<testsuite name="([^"]+)" tests="(\d+)" failures="(\d+)" errors="(\d+)" skipped="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])]);
    expect(suites).toEqual([
      ['fusepass sim', 3, 0, 0, 1],
      ['fusepass kernel', 3, 1, 0, 1],
      ['fusepass sim-vs-kernel', 3, 1, 0, 1],
      ['fusepass case-files', 1, 0, 1, 0],
    ]);
    expect(xml).toMatch(/<testsuites name="fusepass" tests="10" failures="2" errors="1"/);
  });

  it('explains failures: the step and what was expected', () => {
    expect(xml).toContain('message="step 4 (open): requests: expected [OPEN, RELEASE], got [OPEN]"');
    expect(xml).toContain('step 4 (open): requests: expected [OPEN, RELEASE] (sim) observed [OPEN] (kernel)');
  });

  it('is well-formed: every element closed, text escaped', () => {
    const body = xml.replace(/^<\?xml[^>]*\?>\n/, '');
    const stack: string[] = [];
    for (const m of body.matchAll(/<(\/?)([a-z]+)([^>]*?)(\/?)>/g)) {
      if (m[1]) expect(stack.pop()).toBe(m[2]);
      else if (!m[4]) stack.push(m[2]!);
    }
    expect(stack).toEqual([]);
    expect(xml).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
    expect(xml).toContain('broken &amp; &lt;odd&gt;.json');
  });
});

describe('writeReadableReports', () => {
  it('writes .md, .html and .junit.xml beside the JSON report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fusepass-readable-'));
    const json = join(dir, 'run-x.json');
    const p = writeReadableReports(sampleReport(), json, env);
    expect(p).toEqual(readablePaths(json));
    expect(p.markdown).toBe(join(dir, 'run-x.md'));
    expect(readFileSync(p.html, 'utf8')).toMatch(/^<!doctype html>/);
    expect(readFileSync(p.junit, 'utf8')).toMatch(/^<\?xml/);
    expect(readFileSync(p.markdown, 'utf8')).toMatch(/^# fusepass conformance report/);
  });
});
