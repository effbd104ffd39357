// Comparing observations: against a case's `expect` (on every target), between targets
// (differential mode: errno, value, requests, events, innerRequests, mountRequests, fault;
// never `explain`), and the step's
// `checks` against the sim's explanation.
import type { CheckId } from '../spec/check-ids.ts';
import type { ExpectedObservation, Observation } from '../spec/observation.ts';
import type { TargetName } from '../spec/target.ts';
import type { DivergenceField, ObservedValue } from './results.ts';

/** A value as messages print it: `null`, `EPERM`, `"B*4096"`, `[OPEN, RELEASE]`. */
export function show(v: ObservedValue | undefined): string {
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Errno names and fault texts print bare: `EPERM`, not `"EPERM"`. */
export function showField(field: DivergenceField, v: ObservedValue | undefined): string {
  return (field === 'errno' || field === 'fault') && typeof v === 'string' ? v : show(v);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** An absent value and null mean the same: the step returned nothing beyond success/errno. */
function normValue(v: number | string | null | undefined): number | string | null {
  return v === undefined ? null : v;
}

/** Failure messages for the fields of `expected` the observation does not match. */
export function checkExpectation(expected: ExpectedObservation, obs: Observation, target: TargetName): string[] {
  const out: string[] = [];
  if (expected.errno !== undefined && expected.errno !== obs.errno) {
    out.push(`errno: expected ${showField('errno', expected.errno)}, got ${showField('errno', obs.errno)}`);
  }
  if (expected.value !== undefined && normValue(expected.value) !== normValue(obs.value)) {
    out.push(`value: expected ${show(expected.value)}, got ${show(normValue(obs.value))}`);
  }
  if (expected.requests !== undefined && !sameList(expected.requests, obs.requests)) {
    out.push(`requests: expected ${show(expected.requests)}, got ${show(obs.requests)}`);
  }
  if (expected.allRequests !== undefined && !sameList(expected.allRequests, obs.allRequests ?? [])) {
    out.push(`allRequests: expected ${show(expected.allRequests)}, got ${show(obs.allRequests ?? [])}`);
  }
  if (expected.events !== undefined && !sameList(expected.events, obs.events)) {
    out.push(`events: expected ${show(expected.events)}, got ${show(obs.events)}`);
  }
  if (expected.innerRequests !== undefined && !sameList(expected.innerRequests, obs.innerRequests ?? [])) {
    out.push(`innerRequests: expected ${show(expected.innerRequests)}, got ${show(obs.innerRequests ?? [])}`);
  }
  if (expected.mountRequests !== undefined && !sameList(expected.mountRequests, obs.mountRequests ?? [])) {
    out.push(`mountRequests: expected ${show(expected.mountRequests)}, got ${show(obs.mountRequests ?? [])}`);
  }
  // The internal cause is visible on the sim only (OBS-11): the kernel hides it behind EIO.
  if (expected.cause !== undefined && target === 'sim' && expected.cause !== obs.explain?.cause) {
    out.push(`cause: expected ${expected.cause}, got ${obs.explain?.cause ?? 'none'}`);
  }
  return out;
}

/** Check ids of the step the sim's explanation does not pass through. */
export function missingChecks(checks: readonly CheckId[] | undefined, obs: Observation): CheckId[] {
  if (!checks || checks.length === 0) return [];
  const seen = new Set(obs.explain?.checks ?? []);
  return checks.filter((c) => !seen.has(c));
}

export function faultText(obs: Observation): string | null {
  return obs.fault ? `${obs.fault.kind}: ${obs.fault.message}` : null;
}

/** The compared fields that differ between the sim's and the kernel's observation of a step. */
export function diffObservations(sim: Observation, kernel: Observation): { field: DivergenceField; sim: ObservedValue; kernel: ObservedValue }[] {
  const out: { field: DivergenceField; sim: ObservedValue; kernel: ObservedValue }[] = [];
  const fs = faultText(sim);
  const fk = faultText(kernel);
  if (fs !== null || fk !== null) {
    // A fault is no kernel answer: the other fields mean nothing then.
    if (fs !== fk) out.push({ field: 'fault', sim: fs, kernel: fk });
    return out;
  }
  if (sim.errno !== kernel.errno) out.push({ field: 'errno', sim: sim.errno, kernel: kernel.errno });
  if (normValue(sim.value) !== normValue(kernel.value)) out.push({ field: 'value', sim: normValue(sim.value), kernel: normValue(kernel.value) });
  if (!sameList(sim.requests, kernel.requests)) out.push({ field: 'requests', sim: [...sim.requests], kernel: [...kernel.requests] });
  // The counts only where the collapsed lists agree: one divergence, not two, for a missing request.
  if (sim.allRequests !== undefined && kernel.allRequests !== undefined && sameList(sim.requests, kernel.requests) && !sameList(sim.allRequests, kernel.allRequests)) {
    out.push({ field: 'allRequests', sim: [...sim.allRequests], kernel: [...kernel.allRequests] });
  }
  if (!sameList(sim.events, kernel.events)) out.push({ field: 'events', sim: [...sim.events], kernel: [...kernel.events] });
  if (sim.innerRequests !== undefined && kernel.innerRequests !== undefined && !sameList(sim.innerRequests, kernel.innerRequests)) {
    out.push({ field: 'innerRequests', sim: [...sim.innerRequests], kernel: [...kernel.innerRequests] });
  }
  if (sim.mountRequests !== undefined && kernel.mountRequests !== undefined && !sameList(sim.mountRequests, kernel.mountRequests)) {
    out.push({ field: 'mountRequests', sim: [...sim.mountRequests], kernel: [...kernel.mountRequests] });
  }
  return out;
}
