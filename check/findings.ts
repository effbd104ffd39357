// From a check's trace to findings (placeholder while the analysis is written).
import type { CheckId } from '../spec/check-ids.ts';
import type { ScenarioRun, SetupResult, TeardownResult } from './protocol.ts';

export interface Finding {
  level: 'error' | 'warn' | 'info';
  checks: CheckId[];
  scenario: string | null;
  message: string;
  advice?: string;
}

export interface CheckTrace {
  setup: SetupResult;
  scenarios: ScenarioRun[];
  hung: string | null;
  teardown: TeardownResult | null;
}

export function analyze(_t: CheckTrace): Finding[] {
  return [];
}
