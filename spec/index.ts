// The shared vocabulary: kernel constants, errnos, check ids, the case format, observations.
export * from './check-ids.ts';
export * from './errno.ts';
export * from './uapi.ts';
export type * from './case.ts';
export { DEFAULT_INIT_REPLY, PROFILE_NAMES } from './case.ts';
export * from './observation.ts';
export type * from './target.ts';
export type * from '../fixtures/world.ts';
export { DEFAULT_BACKING_BYTE, DEFAULT_DAEMON_BYTE, DEFAULT_FILE_SIZE } from '../fixtures/world.ts';
