// Writes the readable reports of a run beside its JSON report: <name>.md, <name>.html and
// <name>.junit.xml, where <name> is the JSON file's name without .json.
import { readFileSync, writeFileSync } from 'node:fs';
import { getuid } from 'node:process';
import { hostname } from 'node:os';
import type { Report } from './report.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { EnvironmentExtra } from './view.ts';

export interface ReadablePaths {
  markdown: string;
  html: string;
  junit: string;
}

export function readablePaths(jsonPath: string): ReadablePaths {
  const base = jsonPath.replace(/\.json$/i, '');
  return { markdown: `${base}.md`, html: `${base}.html`, junit: `${base}.junit.xml` };
}

/** CAP_SYS_ADMIN (bit 21) in the effective set, from /proc/self/status; null if unreadable. */
function hasCapSysAdmin(): boolean | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? (BigInt(`0x${m[1]}`) & (1n << 21n)) !== 0n : null;
  } catch {
    return null;
  }
}

/** Who ran the report: uid and CAP_SYS_ADMIN of this process (the report JSON does not record it). */
export function runEnvironment(): EnvironmentExtra {
  const uid = getuid?.();
  const cap = hasCapSysAdmin();
  const who = uid === undefined ? 'unknown user' : uid === 0 ? 'root (uid 0)' : `uid ${uid}`;
  const caps = cap === null ? '' : cap ? ', CAP_SYS_ADMIN' : ', no CAP_SYS_ADMIN';
  return { privileges: `${who}${caps}`, host: hostname() };
}

export function writeReadableReports(report: Report, jsonPath: string, environment: EnvironmentExtra = runEnvironment()): ReadablePaths {
  const p = readablePaths(jsonPath);
  writeFileSync(p.markdown, renderMarkdown(report, { environment }));
  writeFileSync(p.html, renderHtml(report, { environment }));
  writeFileSync(p.junit, renderJunit(report));
  return p;
}
