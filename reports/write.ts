// Writes the readable reports of a run beside its JSON report: <name>.md, <name>.html and
// <name>.junit.xml, where <name> is the JSON file's name without .json. Who ran it and where
// (`environment`) is the caller's to find out (cli/run-environment.ts): reports only format.
import { writeFileSync } from 'node:fs';
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

export function writeReadableReports(report: Report, jsonPath: string, environment: EnvironmentExtra): ReadablePaths {
  const p = readablePaths(jsonPath);
  writeFileSync(p.markdown, renderMarkdown(report, { environment }));
  writeFileSync(p.html, renderHtml(report, { environment }));
  writeFileSync(p.junit, renderJunit(report));
  return p;
}
