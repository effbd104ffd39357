// Turns ajv's errors into one-line messages that say what was expected, and gives steps (an
// anyOf with one shape per step op in the schema) a message about the one shape their `op` selects.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { CHECK_IDS } from '../spec/check-ids.ts';

/** A problem inside one case file: a JSON pointer and what was expected there. */
export interface Issue {
  path: string;
  message: string;
}

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  type?: string | string[];
}

const CASE_SCHEMA_URL = new URL('./case.schema.json', import.meta.url);

/** Compiled validators for the whole case and for each step shape, built on first use. */
export class CaseSchema {
  private readonly ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true });
  private readonly schema: JsonSchema;
  private readonly whole: ValidateFunction;
  private readonly stepBranches = new Map<string, JsonSchema>();
  private readonly stepValidators = new Map<string, ValidateFunction>();
  /** Nested actions (simInterleave's `actions`) are Actions: no checks/expect/note. */
  private readonly actionBranches = new Map<string, JsonSchema>();
  private readonly actionValidators = new Map<string, ValidateFunction>();

  constructor(schemaText: string = readFileSync(CASE_SCHEMA_URL, 'utf8')) {
    this.schema = JSON.parse(schemaText) as JsonSchema;
    this.whole = this.ajv.compile(this.schema);
    for (const branch of this.schema.definitions?.['Step']?.anyOf ?? []) {
      const op = branch.properties?.['op']?.const;
      if (typeof op === 'string') this.stepBranches.set(op, branch);
    }
    for (const member of this.schema.definitions?.['Action']?.anyOf ?? []) {
      const ref = (member as { $ref?: string }).$ref;
      const def = ref ? this.schema.definitions?.[ref.replace('#/definitions/', '')] : undefined;
      const op = def?.properties?.['op']?.const;
      if (def && typeof op === 'string') this.actionBranches.set(op, def);
    }
  }

  /** Every step op the schema knows, in schema order. */
  get stepOps(): string[] {
    return [...this.stepBranches.keys()];
  }

  validate(data: unknown): Issue[] {
    if (this.whole(data)) return [];
    const errors = this.whole.errors ?? [];
    const badSteps = new Set<number>();
    const issues: Issue[] = [];
    for (const e of errors) {
      const m = /^\/steps\/(\d+)(\/|$)/.exec(e.instancePath);
      if (m) badSteps.add(Number(m[1]));
      else issues.push(...describe(e));
    }
    const steps = (data as { steps?: unknown }).steps;
    for (const i of [...badSteps].sort((a, b) => a - b)) {
      issues.push(...this.validateStep(Array.isArray(steps) ? steps[i] : undefined, `/steps/${i}`));
    }
    return dedupe(issues);
  }

  private validateStep(step: unknown, at: string, nested = false): Issue[] {
    const what = nested ? 'an action' : 'a step';
    if (typeof step !== 'object' || step === null || Array.isArray(step)) {
      return [{ path: at, message: `expected ${what} object with an "op", got ${typeName(step)}` }];
    }
    const branches = nested ? this.actionBranches : this.stepBranches;
    const ops = [...branches.keys()];
    const op = (step as { op?: unknown }).op;
    if (op === undefined) {
      return [{ path: at, message: `missing required property "op" (expected one of: ${ops.join(', ')})` }];
    }
    if (typeof op !== 'string' || !branches.has(op)) {
      const hint = typeof op === 'string' ? didYouMean(op, ops) : '';
      return [{ path: `${at}/op`, message: `unknown step op ${JSON.stringify(op)}${hint} (expected one of: ${ops.join(', ')})` }];
    }
    const validator = this.validator(nested, op);
    if (validator(step)) return [];
    // Errors inside nested actions are re-examined against the one action their op selects.
    const issues: Issue[] = [];
    const badActions = new Set<number>();
    for (const e of validator.errors ?? []) {
      const m = /^\/actions\/(\d+)(\/|$)/.exec(e.instancePath);
      if (m) badActions.add(Number(m[1]));
      else issues.push(...describe(e, at, `${nested ? 'an' : 'a'} "${op}" ${nested ? 'action' : 'step'}`));
    }
    const actions = (step as { actions?: unknown }).actions;
    for (const k of [...badActions].sort((a, b) => a - b)) {
      issues.push(...this.validateStep(Array.isArray(actions) ? actions[k] : undefined, `${at}/actions/${k}`, true));
    }
    return issues;
  }

  private validator(nested: boolean, op: string): ValidateFunction {
    const cache = nested ? this.actionValidators : this.stepValidators;
    let v = cache.get(op);
    if (!v) {
      const branch = (nested ? this.actionBranches : this.stepBranches).get(op);
      v = this.ajv.compile({ ...branch, definitions: this.schema.definitions });
      cache.set(op, v);
    }
    return v;
  }
}

function describe(e: ErrorObject, prefix = '', stepOwner?: string): Issue[] {
  const path = prefix + e.instancePath;
  const owner = e.instancePath === '' ? (stepOwner ?? 'the case') : `the object at ${path}`;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const t = params['type'];
      const types = Array.isArray(t) ? t.join(' or ') : String(t);
      return [{ path, message: `expected ${types}, got ${typeName(e.data)}` }];
    }
    case 'required':
      return [{ path, message: `missing required property "${String(params['missingProperty'])}" of ${owner}` }];
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as JsonSchema | undefined)?.properties ?? {});
      const extra = String(params['additionalProperty']);
      const hint = didYouMean(extra, allowed);
      return [{
        path: `${path}/${extra}`,
        message: allowed.length > 0
          ? `unexpected property "${extra}"${hint} (expected only: ${allowed.join(', ')})`
          : `unexpected property "${extra}"`,
      }];
    }
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[] | undefined) ?? [];
      if (allowed.length === CHECK_IDS.length && typeof e.data === 'string') {
        return [{ path, message: `unknown check id ${JSON.stringify(e.data)}${didYouMean(e.data, CHECK_IDS)} (expected an id of spec/check-ids.ts, e.g. BOPEN-5)` }];
      }
      return [{ path, message: `expected one of ${listValues(allowed)}, got ${JSON.stringify(e.data)}` }];
    }
    case 'const':
      return [{ path, message: `expected ${JSON.stringify(params['allowedValue'])}, got ${JSON.stringify(e.data)}` }];
    case 'anyOf':
      return [{ path, message: `got ${typeName(e.data)} that matches none of the allowed shapes` }];
    case 'minimum':
    case 'maximum': {
      const sch = (e.parentSchema ?? {}) as { minimum?: number; maximum?: number; type?: string; description?: string };
      const what = sch.type === 'integer' ? 'an integer' : 'a number';
      const why = sch.description ? ` (${sch.description.split('\n')[0]!.replace(/\.$/, '')})` : '';
      return [{ path, message: `expected ${what} from ${sch.minimum ?? '-∞'} to ${sch.maximum ?? '∞'}, got ${JSON.stringify(e.data)}${why}` }];
    }
    case 'minItems':
      return [{ path, message: `expected at least ${String(params['limit'])} item(s), got ${Array.isArray(e.data) ? e.data.length : 0}` }];
    case 'uniqueItems': {
      const dup = Array.isArray(e.data) ? e.data[Number(params['i'])] : undefined;
      return [{ path, message: `${JSON.stringify(dup)} appears more than once (expected each item once)` }];
    }
    case 'maxLength':
      return [{ path, message: `expected at most ${String(params['limit'])} characters, got ${typeof e.data === 'string' ? e.data.length : '?'}` }];
    default:
      return [{ path, message: e.message ?? `fails ${e.keyword}` }];
  }
}

/** ajv reports an anyOf and its branches at the same path; keep the most specific message. */
function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  const specific = new Set(issues.filter((i) => !i.message.includes('matches none')).map((i) => i.path));
  return issues.filter((i) => {
    if (i.message.includes('matches none') && specific.has(i.path)) return false;
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function listValues(values: readonly unknown[]): string {
  const shown = values.slice(0, 16).map((v) => JSON.stringify(v));
  return values.length > 16 ? `${shown.join(', ')}, ... (${values.length} values)` : shown.join(', ');
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (v === undefined) return 'nothing';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** `; did you mean "x"?` for a near miss (edit distance ≤ 2 or a case change), else ``. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= 2 ? `; did you mean "${best}"?` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}
