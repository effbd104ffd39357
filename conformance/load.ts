// Finds and loads case files: JSON parse, schema validation (ajv against the generated
// case.schema.json), then the semantic checks of validate.ts. A broken file becomes LoadErrors
// (one line each, naming file, JSON path and what was expected); the other cases still load.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Case } from '../spec/case.ts';
import type { LoadError } from './results.ts';
import { CaseSchema, typeName, type Issue } from './schema-errors.ts';
import { checkEntryNames, checkId, checkNames, checkSimOnly } from './validate.ts';
import { jsonProblem } from './json-position.ts';

export const CASES_DIR = fileURLToPath(new URL('./cases/', import.meta.url));

export interface LoadedCase {
  case: Case;
  /** Display path (relative to the working directory when inside it). */
  file: string;
}

export interface LoadResult {
  cases: LoadedCase[];
  errors: LoadError[];
  /** Files that were read (broken ones included), in load order. */
  files: string[];
}

let sharedSchema: CaseSchema | undefined;
function caseSchema(): CaseSchema {
  sharedSchema ??= new CaseSchema();
  return sharedSchema;
}

/** A path for messages: relative to the working directory when under it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** `file: /path: message`, or `file: message` for whole-file problems. One line. */
export function formatLoadError(e: LoadError): string {
  return e.path === '' ? `${e.file}: ${e.message}` : `${e.file}: ${e.path}: ${e.message}`;
}

/** All *.json files under `dir`, recursively, sorted by path. */
export function findCaseFiles(dir: string = CASES_DIR): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findCaseFiles(p));
    else if (entry.isFile() && entry.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}

/** How deep a case may nest objects and arrays: far beyond any real case, far below the stack. */
export const MAX_NESTING = 64;

/** The JSON pointer of the first place nested deeper than `max`, or null; iterative. */
export function tooDeep(value: unknown, max: number): string | null {
  const todo: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  while (todo.length > 0) {
    const { v, path, depth } = todo.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return path;
    for (const [k, child] of Object.entries(v)) todo.push({ v: child, path: `${path}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth: depth + 1 });
  }
  return null;
}

/** Parse and validate one case file. */
export function loadCaseFile(file: string): { case?: Case; errors: LoadError[] } {
  const shown = displayPath(file);
  const fail = (issues: Issue[]) => ({ errors: issues.map((i) => ({ file: shown, path: i.path, message: i.message })) });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail([{ path: '', message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)}; expected a readable case file)` }]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return fail([{ path: '', message: `malformed JSON ${jsonProblem(text)} (expected one JSON object, e.g. no trailing commas)` }]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail([{ path: '', message: `expected a JSON object (a case), got ${typeName(data)}` }]);
  }
  // Schema validation recurses over the value: bound the nesting first (simInterleave nests).
  const deep = tooDeep(data, MAX_NESTING);
  if (deep !== null) return fail([{ path: deep, message: `nested deeper than ${MAX_NESTING} levels (expected a case, whose deepest part is a few levels)` }]);
  const schemaIssues = caseSchema().validate(data);
  if (schemaIssues.length > 0) return fail(schemaIssues);
  const kase = data as Case;
  const names = checkEntryNames(kase);
  // A name that is not an entry is reported alone: the name checks would repeat it per use.
  const semantic = names.length > 0 ? names : [...checkId(kase, basename(file, '.json')), ...checkNames(kase), ...checkSimOnly(kase)];
  if (semantic.length > 0) return fail(semantic);
  return { case: kase, errors: [] };
}

/**
 * Load the cases named by `selectors` (case files, directories, or case ids looked up in
 * `casesDir`), or the whole library when there are none. Duplicate ids are errors.
 */
export function loadCases(selectors: readonly string[] = [], casesDir: string = CASES_DIR): LoadResult {
  const errors: LoadError[] = [];
  const files: string[] = [];
  const add = (f: string) => {
    if (!files.includes(f)) files.push(f);
  };
  if (selectors.length === 0) findCaseFiles(casesDir).forEach(add);
  let library: Map<string, string> | undefined;
  for (const sel of selectors) {
    const p = resolve(sel);
    if (existsSync(p)) {
      if (statSync(p).isDirectory()) findCaseFiles(p).forEach(add);
      else add(p);
      continue;
    }
    library ??= new Map(findCaseFiles(casesDir).map((f) => [basename(f, '.json'), f]));
    const byId = library.get(sel.replace(/\.json$/, ''));
    if (byId) add(byId);
    else {
      errors.push({
        file: sel,
        path: '',
        message: `no such case file, and no case with this id in ${displayPath(casesDir)} (expected a path to a .json case, a directory, or a case id)`,
      });
    }
  }
  const cases: LoadedCase[] = [];
  const byId = new Map<string, string>();
  for (const f of files) {
    const r = loadCaseFile(f);
    errors.push(...r.errors);
    if (!r.case) continue;
    const shown = displayPath(f);
    const other = byId.get(r.case.id);
    if (other) {
      errors.push({ file: shown, path: '/id', message: `duplicate case id "${r.case.id}" (also in ${other}; expected ids unique)` });
      continue;
    }
    byId.set(r.case.id, shown);
    cases.push({ case: r.case, file: shown });
  }
  return { cases, errors, files: files.map(displayPath) };
}
