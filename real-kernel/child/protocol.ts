// Messages between the runner (host/) and a namespace child (child/main.ts), over Node's IPC
// channel. One request at a time; every request gets exactly one reply.
import type { Case, Step } from '../../spec/case.ts';
import type { Observation, TargetFault } from '../../spec/observation.ts';

export type ToChild =
  | { t: 'start'; kase: Case }
  | { t: 'apply'; step: Step; index: number }
  | { t: 'finish' }
  | { t: 'quit' };

export type FromChild =
  | { t: 'ready'; pid: number }
  | { t: 'started'; fault?: TargetFault }
  | { t: 'obs'; obs: Observation };
