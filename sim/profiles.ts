// Kernel-version profiles (kernel-spec.md §14): data plus small predicates, never forked code.
// Every module asks the profile a yes/no question at the one place the versions differ.
import type { ProfileName } from '../spec/case.ts';

export interface Profile {
  readonly name: ProfileName;
  /**
   * The real kernel that last confirmed the profile (the case library with --target both, no
   * unexplained divergence), or how the profile was made when no kernel of it was booted.
   */
  readonly confirmedOn: string;
  /** INIT-2: the minor the kernel sends in FUSE_INIT. */
  readonly protoMinor: number;
  /** CONFIG_FUSE_PASSTHROUGH=y (INIT-1, BOPEN-2, BCLOSE-2, OPEN-8). */
  readonly passthroughConfigured: boolean;
  /**
   * fuse_dev_ioctl knows BACKING_OPEN and BACKING_CLOSE (6.9 on, with or without
   * CONFIG_FUSE_PASSTHROUGH); before, only FUSE_DEV_IOC_CLONE and the rest is ENOTTY (DEV-1).
   */
  readonly backingIoctls: boolean;
  /**
   * CONFIG_FUSE_DAX=y: fuse_send_init offers HAS_INODE_DAX on every mount (a /dev/fuse mount's
   * dax_mode is the default, which fuse_is_inode_dax_mode counts). Debian builds it; the CI
   * machine's 6.18 does not (both measured with the initOffer observable).
   */
  readonly fuseDax: boolean;
  /** FUSE_DEV_IOC_SYNC_INIT exists (6.18; DEV-10..13, else ENOTTY DEV-12). */
  readonly syncInit: boolean;
  /** 6.17 fix e9c8da670e74: non-regular backing files rejected (BOPEN-8, BOPEN-9). */
  readonly rejectNonRegular: boolean;
  /** 6.12 efad7153bf93: fget_raw, so O_PATH fds are accepted (BOPEN-16); 6.9 fget gave EBADF. */
  readonly fgetRaw: boolean;
  /** 6.9 only: EOPNOTSUPP for files lacking read_iter/write_iter (BOPEN-17). */
  readonly requireReadWriteIter: boolean;
  /** 6.11 3ab394b363c5: WRITEBACK_CACHE turns passthrough off (INIT-9). */
  readonly writebackDisablesPassthrough: boolean;
  /** 6.12 20121d3f58f0: an extending PT write extends the FUSE i_size (IO-24). */
  readonly extendSizeAfterPtWrite: boolean;
  /** 6.9 final aef8acd79f36: padding must be zero (BOPEN-6). */
  readonly checkPadding: boolean;
  /** 6.16: `fuse_connection` in /dev/fuse fdinfo (OBS-1). */
  readonly fdinfoConnection: boolean;
  /** 6.13: fuse_request_send / fuse_request_end tracepoints (OBS-10). */
  readonly requestTracepoints: boolean;
  /** 6.18 (protocol 7.45): copy_file_range asks FUSE_COPY_FILE_RANGE_64 first (opcode 53). */
  readonly copyFileRange64: boolean;
}

const P618: Profile = {
  name: '6.18',
  confirmedOn: 'Linux 6.18.44, the CI machine (npm test)',
  protoMinor: 45,
  passthroughConfigured: true,
  backingIoctls: true,
  fuseDax: false,
  syncInit: true,
  rejectNonRegular: true,
  fgetRaw: true,
  requireReadWriteIter: false,
  writebackDisablesPassthrough: true,
  extendSizeAfterPtWrite: true,
  checkPadding: true,
  fdinfoConnection: true,
  requestTracepoints: true,
  copyFileRange64: true,
};

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  '6.18': P618,
  // 6.12 as people run it: Debian's 6.12.118 (stable 6.12.y) carries the 6.17 non-regular-file
  // fix (a directory gave EISDIR, /dev/null EINVAL under npm run matrix), which plain v6.12.0
  // lacks; no SYNC_INIT, no fdinfo connection id.
  '6.12': {
    ...P618,
    name: '6.12',
    confirmedOn: "Debian's 6.12.118+deb12-amd64 under QEMU (npm run matrix, in CI)",
    protoMinor: 41,
    fuseDax: true,
    syncInit: false,
    rejectNonRegular: true,
    fdinfoConnection: false,
    requestTracepoints: false,
    copyFileRange64: false,
  },
  // 6.9 final: fget (O_PATH -> EBADF), read_iter/write_iter check, writeback + PT allowed,
  // no local size extension after PT writes, padding checked.
  '6.9': {
    ...P618,
    name: '6.9',
    confirmedOn: 'no 6.9 kernel booted: from the v6.9 sources and the changes since (kernel-spec.md §14)',
    protoMinor: 40,
    syncInit: false,
    rejectNonRegular: false,
    fgetRaw: false,
    requireReadWriteIter: true,
    writebackDisablesPassthrough: false,
    extendSizeAfterPtWrite: false,
    fdinfoConnection: false,
    requestTracepoints: false,
    copyFileRange64: false,
  },
  // CONFIG_FUSE_PASSTHROUGH=n on an otherwise 6.18 kernel.
  nopt: { ...P618, name: 'nopt', confirmedOn: 'no such kernel booted: the 6.18 sources with CONFIG_FUSE_PASSTHROUGH=n', passthroughConfigured: false },
  // Before passthrough: protocol 7.38, no backing ioctls (ENOTTY), no io modes. Only what its own
  // cases say is checked on it; the rest of the model is 6.18's.
  '6.1': {
    ...P618,
    name: '6.1',
    confirmedOn: "Debian's 6.1.0-57-amd64 (6.1.192) under QEMU (npm run matrix, in CI)",
    protoMinor: 38,
    passthroughConfigured: false,
    backingIoctls: false,
    fuseDax: true,
    syncInit: false,
    rejectNonRegular: false,
    writebackDisablesPassthrough: false,
    extendSizeAfterPtWrite: false,
    fdinfoConnection: false,
    requestTracepoints: false,
    copyFileRange64: false,
  },
};

export { PROFILE_NAMES } from '../spec/case.ts';

export function getProfile(name: ProfileName = '6.18'): Profile {
  return PROFILES[name];
}
