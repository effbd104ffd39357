/**
 * fusepass/sim: a faithful, deterministic model of Linux FUSE passthrough (6.18, with 6.12,
 * 6.9 and no-passthrough profiles) that a daemon author drives in-process.
 *
 * ```ts
 * import { createKernel } from 'fusepass/sim';
 * const k = createKernel({ profile: '6.18', world: { files: { b: { on: 'disk' } }, nodes: { n: {} } } });
 * k.daemon.devOpen('dev');
 * k.daemon.mount('dev', { flags: ['INIT_EXT', 'PASSTHROUGH'], maxStackDepth: 1 });
 * k.daemon.open('b', 'rdonly', 'bf');
 * const id = k.daemon.backingOpen({ dev: 'dev', fd: 'bf', as: 'b1' }); // { errno: null, value: 1, ... }
 * k.daemon.setOpenReply('n', { flags: ['PASSTHROUGH', 'KEEP_CACHE'], backing: 'b1' });
 * const r = k.client.open('n', ['O_RDONLY'], 'f');
 * // r.errno === 'EIO', r.explain.cause === 'EINVAL', r.explain.checks includes 'OPEN-9'
 * ```
 * Every call returns `{ errno, value, requests, events, explain }`: what the syscall returned,
 * the FUSE requests the daemon received, the inotify events on world files, and the check ids
 * of kernel-spec.md it passed through (with the internal errno behind an EIO at open).
 *
 * A daemon serving several mounts: `k.use('two').daemon.mount('dev2')` mounts a further one
 * through another /dev/fuse fd (a connection of its own), and calls after `k.use('two')` go to
 * it until `k.use(undefined)`; results then carry `mountRequests`, its requests as `two:OPEN`.
 */
export { createKernel, Kernel, DaemonApi, ClientApi } from './kernel.ts';
export type { SimResult, CreateKernelOptions, HiddenState, BackingOpenArgs, BackingCloseArgs } from './kernel.ts';
export type { SimMutation } from './state.ts';
export { PROFILES, PROFILE_NAMES, getProfile } from './profiles.ts';
export type { Profile } from './profiles.ts';
export { overlayStackDepth } from './world/build.ts';
export { fuseInitOffer } from './inode.ts';
export { stepInvariantViolations, teardownInvariantViolations, IdUniqueness } from './invariants.ts';
export type { DaemonPort, DaemonReply, FuseRequest, FuseAttr } from './daemon-port.ts';
export type { ExternalBytes, InodeType, Mount, Superblock } from './world/vfs.ts';
