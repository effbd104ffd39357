// Known divergences between the sim and the kernel: conformance/known-divergences.json lists
// each with its reason (a kernel bug the sim does not reproduce, or a detail the kernel target
// cannot observe). A divergence it does not list is unexplained and fails the run.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Divergence, DivergenceField, KnownDivergenceKind, LoadError } from './results.ts';
import { displayPath } from './load.ts';
import { typeName } from './schema-errors.ts';
import { jsonProblem } from './json-position.ts';

export const KNOWN_DIVERGENCES_FILE = fileURLToPath(new URL('./known-divergences.json', import.meta.url));

export interface KnownDivergence {
  /** The case id it applies to; or `casePattern`, a regular expression over case ids. */
  case?: string;
  casePattern?: string;
  /** The step index (steps.length, or "finish", for the teardown); any step when absent. */
  step?: number | 'finish';
  /** The differing field; any field when absent. */
  field?: DivergenceField;
  kind: KnownDivergenceKind;
  /** Why: the kernel bug, or the detail the kernel target cannot observe. */
  reason: string;
}

export interface KnownDivergencesFile {
  divergences: KnownDivergence[];
}

const FIELDS: readonly DivergenceField[] = ['errno', 'value', 'requests', 'allRequests', 'events', 'innerRequests', 'mountRequests', 'fault'];
const KINDS: readonly KnownDivergenceKind[] = ['kernel-bug', 'unobservable'];
const KEYS = ['case', 'casePattern', 'step', 'field', 'kind', 'reason'];

/** A short label for reports: `case-id#3:events`, `/^mmap-/#*:*`. */
export function knownLabel(k: KnownDivergence): string {
  const who = k.case ?? `/${k.casePattern ?? ''}/`;
  return `${who}#${k.step ?? '*'}:${k.field ?? '*'}`;
}

/** Parse and check the file's shape; problems are LoadErrors (file, JSON path, expectation). */
export function parseKnownDivergences(text: string, file: string): { entries: KnownDivergence[]; errors: LoadError[] } {
  const shown = displayPath(file);
  const errors: LoadError[] = [];
  const err = (path: string, message: string) => errors.push({ file: shown, path, message });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    err('', `malformed JSON ${jsonProblem(text)} (expected { "divergences": [...] })`);
    return { entries: [], errors };
  }
  const list = (data as { divergences?: unknown } | null)?.divergences;
  if (typeof data !== 'object' || data === null || !Array.isArray(list)) {
    err('/divergences', `expected an array of known divergences, got ${typeName(list)}`);
    return { entries: [], errors };
  }
  const entries: KnownDivergence[] = [];
  list.forEach((raw: unknown, i) => {
    const at = `/divergences/${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return err(at, `expected an object, got ${typeName(raw)}`);
    const e = raw as Record<string, unknown>;
    const before = errors.length;
    for (const k of Object.keys(e)) if (!KEYS.includes(k)) err(`${at}/${k}`, `unexpected property "${k}" (expected only: ${KEYS.join(', ')})`);
    if ((e['case'] === undefined) === (e['casePattern'] === undefined)) err(at, 'expected exactly one of "case" (a case id) or "casePattern" (a regular expression)');
    if (e['case'] !== undefined && typeof e['case'] !== 'string') err(`${at}/case`, `expected string, got ${typeName(e['case'])}`);
    if (e['casePattern'] !== undefined) {
      if (typeof e['casePattern'] !== 'string') err(`${at}/casePattern`, `expected string, got ${typeName(e['casePattern'])}`);
      else {
        try {
          new RegExp(e['casePattern']);
        } catch {
          err(`${at}/casePattern`, `expected a valid regular expression, got ${JSON.stringify(e['casePattern'])}`);
        }
      }
    }
    const step = e['step'];
    if (step !== undefined && step !== 'finish' && !(typeof step === 'number' && Number.isInteger(step) && step >= 0)) {
      err(`${at}/step`, `expected a step index (integer ≥ 0) or "finish", got ${typeName(step)}`);
    }
    if (e['field'] !== undefined && !FIELDS.includes(e['field'] as DivergenceField)) err(`${at}/field`, `expected one of ${FIELDS.join(', ')}, got ${typeName(e['field'])}`);
    if (!KINDS.includes(e['kind'] as KnownDivergenceKind)) err(`${at}/kind`, `expected one of ${KINDS.join(', ')}, got ${typeName(e['kind'])}`);
    if (typeof e['reason'] !== 'string' || e['reason'].trim() === '') err(`${at}/reason`, `expected a non-empty reason, got ${typeName(e['reason'])}`);
    if (errors.length === before) entries.push(e as unknown as KnownDivergence);
  });
  return { entries, errors };
}

export function loadKnownDivergences(file: string = KNOWN_DIVERGENCES_FILE): { entries: KnownDivergence[]; errors: LoadError[] } {
  if (!existsSync(file)) return { entries: [], errors: [] };
  return parseKnownDivergences(readFileSync(file, 'utf8'), file);
}

/** The first entry that explains this divergence of case `caseId` (with `stepCount` steps). */
export function matchKnown(entries: readonly KnownDivergence[], caseId: string, stepCount: number, d: Divergence): KnownDivergence | undefined {
  return entries.find((k) => {
    if (k.case !== undefined && k.case !== caseId) return false;
    if (k.casePattern !== undefined && !new RegExp(k.casePattern).test(caseId)) return false;
    if (k.step !== undefined) {
      const index = k.step === 'finish' ? stepCount : k.step;
      if (index !== d.step) return false;
    }
    return k.field === undefined || k.field === d.field;
  });
}
