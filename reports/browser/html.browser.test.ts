// The HTML report in a real browser (headless Chromium driven over the DevTools protocol): the
// page's own script runs, the case table is visible at the top, a diverging case is open with its
// "expected ... observed ..." line and the diverging kernel cell visible, the filters work, and a
// screenshot is taken. Without Chromium the test skips with a reason (scripts/setup-browser.sh
// installs it); FUSEPASS_REQUIRE_BROWSER=1 turns that skip into a failure.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../html.ts';
import { renderJunit } from '../junit.ts';
import { sampleReport } from '../sample-report.ts';
import { Browser, findChromium, type Page } from './chromium.ts';

const required = process.env['FUSEPASS_REQUIRE_BROWSER'] === '1';
let chromium = findChromium();
if (!chromium && required) {
  // CI asked for the browser: install it (Debian package) rather than skip.
  execFileSync('sh', [fileURLToPath(new URL('../../scripts/setup-browser.sh', import.meta.url))], { stdio: 'inherit' });
  chromium = findChromium();
}
const skipReason = chromium ? null : 'no chromium on PATH (run scripts/setup-browser.sh; FUSEPASS_REQUIRE_BROWSER=1 makes this a failure)';
if (skipReason && required) throw new Error(`FUSEPASS_REQUIRE_BROWSER=1 but ${skipReason}`);
if (skipReason) console.warn(`skip: HTML report browser test: ${skipReason}`);

/** Is the element visible and on top at its centre (not hidden, covered or scrolled away)? */
const VISIBLE = `(el) => {
  if (!el) return { ok: false, why: 'missing' };
  const r = el.getBoundingClientRect();
  const s = getComputedStyle(el);
  // checkVisibility is false inside a closed <details> (content-visibility: hidden).
  if (s.display === 'none' || s.visibility === 'hidden' || r.width === 0 || r.height === 0 || !el.checkVisibility({ visibilityProperty: true })) return { ok: false, why: 'not rendered' };
  const x = Math.min(Math.max(r.left + Math.min(r.width / 2, 40), 0), innerWidth - 1), y = Math.min(Math.max(r.top + Math.min(r.height / 2, 10), 0), innerHeight - 1);
  if (r.bottom < 0 || r.top > innerHeight) return { ok: false, why: 'outside the viewport', top: r.top };
  const hit = document.elementFromPoint(x, y);
  return { ok: !!hit && (el === hit || el.contains(hit)), why: hit ? 'covered by ' + hit.tagName : 'nothing at point' };
}`;

describe.skipIf(skipReason !== null)('HTML report in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  const dir = mkdtempSync(join(tmpdir(), 'fusepass-html-'));

  beforeAll(async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(sampleReport(), { environment: { privileges: 'root (uid 0), CAP_SYS_ADMIN' } }));
    browser = Browser.launch(chromium!);
    page = await browser.open(pathToFileURL(file).href, 1400, 1000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("runs the page's own script", async () => {
    expect(await page.evaluate<string | undefined>('document.body.dataset.ready')).toBe('1');
    expect(await page.evaluate<string>("document.querySelector('.filters .count').textContent")).toBe('4 of 4 shown');
  });

  it('shows the case table at the top with a status per target', async () => {
    const v = await page.evaluate<{ ok: boolean; why: string }>(`(${VISIBLE})(document.querySelector('#case-table'))`);
    expect(v).toMatchObject({ ok: true });
    const rows = await page.evaluate<string[][]>("[...document.querySelectorAll('#case-table tbody tr')].map(r => [...r.cells].slice(0, 5).map(c => c.innerText.trim()))");
    expect(rows).toContainEqual(['problem-keep-cache-makes-passthrough-open-fail', 'problems', 'FAIL', 'passed', 'failed']);
    expect(rows).toContainEqual(['bopen-success-returns-positive-id', 'bopen', 'PASS', 'passed', 'passed']);
    expect(rows).toHaveLength(4);
  });

  it('shows the diverging trace open with expected and observed, the kernel cell marked', async () => {
    const sel = '#case-problem-keep-cache-makes-passthrough-open-fail';
    expect(await page.evaluate<boolean>(`document.querySelector('${sel}').open`)).toBe(true);
    await page.evaluate(`document.querySelector('${sel} ul.divergences').scrollIntoView({ block: 'center' })`);
    const line = await page.evaluate<{ ok: boolean; why: string }>(`(${VISIBLE})(document.querySelector('${sel} ul.divergences li'))`);
    expect(line).toMatchObject({ ok: true });
    expect(await page.evaluate<string>(`document.querySelector('${sel} ul.divergences').innerText`)).toContain('requests: expected [OPEN, RELEASE] (sim) observed [OPEN] (kernel)');
    await page.evaluate(`document.querySelector('${sel} td.obs.diverge').scrollIntoView({ block: 'center' })`);
    expect(await page.evaluate<{ ok: boolean }>(`(${VISIBLE})(document.querySelector('${sel} td.obs.diverge'))`)).toMatchObject({ ok: true });
    expect(await page.evaluate<string>(`document.querySelector('${sel} td.obs.diverge').innerText`)).toMatch(/^EIO/);
    // a passing case stays folded: its trace is not rendered
    expect(await page.evaluate<{ ok: boolean; why: string }>(`(${VISIBLE})(document.querySelector('#case-bopen-success-returns-positive-id table.trace'))`)).toMatchObject({ ok: false, why: 'not rendered' });
  });

  it('filters the case table to the diverging cases', async () => {
    await page.evaluate(`window.scrollTo(0, 0); document.querySelector('.filters button[data-filter=diverging]').click()`);
    const shown = await page.evaluate<string[]>("[...document.querySelectorAll('#case-table tbody tr')].filter(r => r.offsetParent !== null).map(r => r.cells[0].innerText.trim())");
    expect(shown).toEqual(['problem-keep-cache-makes-passthrough-open-fail']);
    await page.evaluate("document.querySelector('.filters button[data-filter=all]').click()");
  });

  it('a check id link leads to its entry in the bundled check index', async () => {
    await page.evaluate("document.querySelector('a.chk[href=\"#check-OPEN-9\"]').click()");
    const v = await page.evaluate<{ ok: boolean }>(`(${VISIBLE})(document.getElementById('check-OPEN-9'))`);
    expect(v).toMatchObject({ ok: true });
  });

  it("the JUnit report is well-formed XML by the browser's own parser", async () => {
    const xml = renderJunit(sampleReport());
    const parsed = await page.evaluate<{ error: string | null; suites: number; cases: number }>(
      `(() => { const d = new DOMParser().parseFromString(${JSON.stringify(xml)}, 'application/xml'); const e = d.querySelector('parsererror'); return { error: e ? e.textContent : null, suites: d.querySelectorAll('testsuite').length, cases: d.querySelectorAll('testcase').length }; })()`,
    );
    expect(parsed).toEqual({ error: null, suites: 4, cases: 10 });
  });

  it('takes a non-empty screenshot', async () => {
    await page.evaluate('window.scrollTo(0, 0)');
    const png = await page.screenshot();
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.length).toBeGreaterThan(20_000);
    const out = process.env['FUSEPASS_SCREENSHOT'] ?? join(dir, 'report.png');
    writeFileSync(out, png);
  });
});
